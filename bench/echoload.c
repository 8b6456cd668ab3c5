/* echoload: closed-loop TCP request/response load generator (epoll, one thread).
 * servidor's copy of ../shared/bench/echoload.c, so that bench:compare needs nothing outside the
 * repository, with two additions for many connections:
 *   -R   open at most RATE connections a second (default: all at once, a connect storm), so that a
 *        steady-state run is not polluted by SYN retransmissions of a storm it did not ask for
 *   -G   gate the steady state: a connection that has made its first round trip waits until every
 *        connection has made its first (or GATE seconds have passed), and the warm-up and the
 *        measured run start only then, so that the steady state has every client of the run in
 *        it, whatever a server does while they connect (the connect itself is what first_p99
 *        and the storm measure); gate_s on the summary line says how long that took
 *   and three more figures on the summary line, the fairness of the server: conn_min, conn_p50 and
 *   conn_max are the fewest, the median and the most round trips that one connection completed
 *   while figures were recorded (a starved connection shows as a low conn_min); and first_done,
 *   how many connections completed their first round trip at all (first_p99 is taken over those
 *   alone, so a server that never answers most of a storm shows a low first_done, not a high p99).
 * Each connection sends SIZE bytes (printable, '\n'-terminated), waits for SIZE
 * bytes back, records the round-trip latency, and repeats until DURATION ends.
 * Prints one summary line: rps, MB/s, p50/p99 latency (us), errors, mismatches.
 * usage: echoload HOST PORT [-c conns] [-s size] [-d seconds] [-w warmup-seconds] [-v] [-C] [-R rate] [-G gate-seconds]
 *   -v   verify the reply equals the request byte for byte (echo servers)
 *   -C   connection churn: open, 1 round trip, close, repeat (measures accept cost)
 *   -w   run this long first without recording, and leave each connection's first round trip
 *        out: rps and p50/p99 then describe the steady state of connections that are up
 *        (under -C every round trip is a connection's first, so all after the warm-up count);
 *        first_p99_us is always the p99 of each connection's first
 *        round trip, connect included (a connect storm that overflows the listen backlog shows
 *        there as ~1 s SYN retransmissions).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; size_t sent, got; double t0; int state; int first; long n; int parked; } Conn;
static char *req; static char *buf; static size_t size; static int verify, churn;
static double *lat; static size_t nlat, caplat; static long errors, mismatches, done;
static double *flat; static size_t nflat, capflat; static double rec_from;
static struct sockaddr_in addr; static int ep;

static double now(void){ struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9; }
static int cmpl(const void*a,const void*b){ long x=*(long*)a,y=*(long*)b; return x<y?-1:x>y; }
static int cmpd(const void*a,const void*b){ double x=*(double*)a,y=*(double*)b; return x<y?-1:x>y; }
static void rec(double v){ if(nlat==caplat){caplat=caplat?caplat*2:1<<16; lat=realloc(lat,caplat*sizeof(double));} lat[nlat++]=v; }
static void recfirst(double v){ if(nflat==capflat){capflat=capflat?capflat*2:1<<14; flat=realloc(flat,capflat*sizeof(double));} flat[nflat++]=v; }

static int open_conn(Conn *c){
  c->fd=socket(AF_INET,SOCK_STREAM|SOCK_NONBLOCK,0); int one=1;
  setsockopt(c->fd,IPPROTO_TCP,TCP_NODELAY,&one,sizeof one);
  if(connect(c->fd,(struct sockaddr*)&addr,sizeof addr)<0 && errno!=EINPROGRESS){ close(c->fd); c->fd=-1; errors++; return -1; }
  c->sent=c->got=0; c->t0=now(); c->state=0; c->first=1; c->parked=0;
  struct epoll_event e={.events=EPOLLIN|EPOLLOUT,.data.ptr=c}; epoll_ctl(ep,EPOLL_CTL_ADD,c->fd,&e); return 0;
}
static void drop(Conn *c){ epoll_ctl(ep,EPOLL_CTL_DEL,c->fd,NULL); close(c->fd); c->fd=-1; }

int main(int argc,char**argv){
  if(argc<3){ fprintf(stderr,"usage: echoload HOST PORT [-c conns] [-s size] [-d secs] [-w warmup-secs] [-v] [-C] [-R conns-per-sec] [-G gate-secs]\n"); return 2; }
  double rate=0, gate=0;
  int conns=16; double dur=5, warm=0; size=64;
  for(int i=3;i<argc;i++){
    if(!strcmp(argv[i],"-c")) conns=atoi(argv[++i]); else if(!strcmp(argv[i],"-s")) size=atol(argv[++i]);
    else if(!strcmp(argv[i],"-d")) dur=atof(argv[++i]); else if(!strcmp(argv[i],"-v")) verify=1;
    else if(!strcmp(argv[i],"-C")) churn=1; else if(!strcmp(argv[i],"-w")) warm=atof(argv[++i]);
    else if(!strcmp(argv[i],"-R")) rate=atof(argv[++i]); else if(!strcmp(argv[i],"-G")) gate=atof(argv[++i]); }
  addr.sin_family=AF_INET; addr.sin_port=htons(atoi(argv[2])); inet_pton(AF_INET,argv[1],&addr.sin_addr);
  req=malloc(size); buf=malloc(size>65536?size:65536);
  for(size_t i=0;i<size;i++) req[i]='a'+(i*7)%26; req[size-1]='\n';
  ep=epoll_create1(0); Conn *cs=calloc(conns,sizeof(Conn));
  for(int i=0;i<conns;i++) cs[i].fd=-1;
  double start=now(), end=start+warm+dur; struct epoll_event ev[256]; rec_from=start+warm; int opened=0;
  /* While gating, nothing is recorded and the run has no end yet: both are set when the gate opens. */
  int gating=gate>0 && !churn; double gate_s=0;
  if(gating){ rec_from=1e300; end=start+gate+warm+dur; }
  while(now()<end){
    if(gating && ((long)nflat>=conns || now()>=start+gate)){
      double t=now(); gating=0; gate_s=t-start; rec_from=t+warm; end=t+warm+dur;
      for(int i=0;i<opened;i++){ Conn *c=&cs[i]; if(c->fd<0 || !c->parked) continue;
        c->parked=0; c->sent=c->got=0; c->t0=t;
        ssize_t w=send(c->fd,req,size,MSG_NOSIGNAL); if(w>0) c->sent=w;
        struct epoll_event e={.events=(c->sent==size?EPOLLIN:EPOLLIN|EPOLLOUT),.data.ptr=c}; epoll_ctl(ep,EPOLL_CTL_MOD,c->fd,&e); }
    }
    if(opened<conns){ int due=rate>0?(int)((now()-start)*rate)+1:conns; if(due>conns) due=conns;
      while(opened<due) open_conn(&cs[opened++]); }
    int n=epoll_wait(ep,ev,256,opened<conns?5:50);
    for(int k=0;k<n;k++){
      Conn *c=ev[k].data.ptr; if(c->fd<0) continue;
      if(ev[k].events&(EPOLLERR|EPOLLHUP) && !(ev[k].events&EPOLLIN)){ errors++; drop(c); if(now()<end) open_conn(c); continue; }
      if(c->sent<size && (ev[k].events&EPOLLOUT)){
        ssize_t w=send(c->fd,req+c->sent,size-c->sent,MSG_NOSIGNAL);
        if(w>0){ c->sent+=w; if(c->sent==size){ struct epoll_event e={.events=EPOLLIN,.data.ptr=c}; epoll_ctl(ep,EPOLL_CTL_MOD,c->fd,&e);} }
        else if(w<0 && errno!=EAGAIN){ errors++; drop(c); if(now()<end) open_conn(c); continue; }
      }
      if(ev[k].events&EPOLLIN){
        for(;;){
          ssize_t r=recv(c->fd,buf,size-c->got<65536?size-c->got:65536,0);
          if(r>0){ if(verify && memcmp(buf,req+c->got,r)) mismatches++; c->got+=r; if(c->got==size) break; continue; }
          if(r==0){ errors++; drop(c); break; }
          if(errno!=EAGAIN){ errors++; drop(c); } break;
        }
        if(c->fd<0){ if(now()<end) open_conn(c); continue; }
        if(c->got==size){
          double t=now(); int first=c->first; if(first){ recfirst((t-c->t0)*1e6); c->first=churn; }
          if(t>=rec_from && (!first || warm==0 || churn)){ rec((t-c->t0)*1e6); done++; c->n++; }
          if(churn){ drop(c); open_conn(c); continue; }
          if(gating){ c->parked=1; struct epoll_event e={.events=0,.data.ptr=c}; epoll_ctl(ep,EPOLL_CTL_MOD,c->fd,&e); continue; }
          c->sent=c->got=0; c->t0=t;
          ssize_t w=send(c->fd,req,size,MSG_NOSIGNAL);
          if(w>0) c->sent=w;
          struct epoll_event e={.events=(c->sent==size?EPOLLIN:EPOLLIN|EPOLLOUT),.data.ptr=c}; epoll_ctl(ep,EPOLL_CTL_MOD,c->fd,&e);
        }
      }
    }
  }
  double el=now()-rec_from; qsort(lat,nlat,sizeof(double),cmpd); qsort(flat,nflat,sizeof(double),cmpd);
  double p50=nlat?lat[nlat/2]:0, p99=nlat?lat[(size_t)(nlat*0.99)]:0, p999=nlat?lat[(size_t)(nlat*0.999)]:0;
  double fp99=nflat?flat[(size_t)(nflat*0.99)]:0;
  long *per=malloc(conns*sizeof(long)); for(int i=0;i<conns;i++) per[i]=cs[i].n; qsort(per,conns,sizeof(long),cmpl);
  printf("rps=%.0f MBps=%.2f p50_us=%.0f p99_us=%.0f errors=%ld mismatches=%ld conns=%d size=%zu p999_us=%.0f first_p99_us=%.0f conn_min=%ld conn_p50=%ld conn_max=%ld first_done=%zu gate_s=%.2f\n",
    done/el, done*size*2/el/1e6, p50, p99, errors, mismatches, conns, size, p999, fp99, per[0], per[conns/2], per[conns-1], nflat, gate_s);
  return 0;
}
