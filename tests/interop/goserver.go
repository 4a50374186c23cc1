// goserver is the Go side of the C-client interop test: Go's net/rpc
// serving the services of interop.rpc (those of Go's own server_test.go,
// plus Echo) with the real standard library.
//
//	goserver
//
// It listens on 127.0.0.1 with free ports and prints one line per listener,
// then "ready":
//
//	gob 127.0.0.1:PORT    plain net/rpc (gob)
//	json 127.0.0.1:PORT   net/rpc/jsonrpc
//	http 127.0.0.1:PORT   rpc.HandleHTTP (/_goRPC_, /debug/rpc) and a second
//	                      server on /foo (debug page /bar), as Go's tests do
//
// It exits when its standard input reaches end of file or on SIGTERM.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type Args struct {
	A, B int
}

type Reply struct {
	C int
}

type Arith int

func (t *Arith) Add(args Args, reply *Reply) error {
	reply.C = args.A + args.B
	return nil
}

func (t *Arith) Mul(args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func (t *Arith) Div(args Args, reply *Reply) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	reply.C = args.A / args.B
	return nil
}

func (t *Arith) String(args *Args, reply *string) error {
	*reply = fmt.Sprintf("%d+%d=%d", args.A, args.B, args.A+args.B)
	return nil
}

func (t *Arith) Scan(args string, reply *Reply) (err error) {
	_, err = fmt.Sscan(args, &reply.C)
	return
}

// Error fails instead of panicking as Go's test does: a panic would end
// this server.
func (t *Arith) Error(args *Args, reply *Reply) error {
	return errors.New("ERROR")
}

func (t *Arith) SleepMilli(args *Args, reply *Reply) error {
	time.Sleep(time.Duration(args.A) * time.Millisecond)
	return nil
}

type hidden int

func (t *hidden) Exported(args Args, reply *Reply) error {
	reply.C = args.A + args.B
	return nil
}

type Embed struct {
	hidden
}

type BuiltinTypes struct{}

func (BuiltinTypes) Map(args *Args, reply *map[int]int) error {
	(*reply)[args.A] = args.B
	return nil
}

func (BuiltinTypes) Slice(args *Args, reply *[]int) error {
	*reply = append(*reply, args.A, args.B)
	return nil
}

func (BuiltinTypes) Array(args *Args, reply *[2]int) error {
	(*reply)[0] = args.A
	(*reply)[1] = args.B
	return nil
}

// Op and Everything mirror interop.rpc.
type Op int32

type Everything struct {
	Flag    bool
	I       int32
	L       int64
	U       uint32
	UL      uint64
	F       float32
	D       float64
	Name    string
	Blob    []byte
	Kind    Op
	Inner   *Args
	Items   []*Args
	Nums    []int64
	Tags    []string
	Weights []float64
	Counts  map[string]int64
	Names   map[int64]string
	Places  map[string]*Args
	Maybe   *int32
	Note    *string
	Ratio   *float64
}

// Pick mirrors interop.rpc's Pick: a pointer per member of its oneof.
type Pick struct {
	Tag string
	N   *int64
	S   *string
	A   *Args
	B   *[]byte
}

type Picker int

func (t *Picker) Echo(args *Pick, reply *Pick) error {
	*reply = *args
	return nil
}

// Fixed mirrors interop.rpc.
type Fixed struct {
	Pair  [2]int64
	Names [2]string
	Two   [2]*Args
	Ops   [3]Op
	Blob  [1][]byte
	D     [2]float64
	Tail  int64
}

type Arrays int

func (t *Arrays) Echo(args *Fixed, reply *Fixed) error {
	*reply = *args
	return nil
}

type Echo int

func (t *Echo) Echo(args *Everything, reply *Everything) error {
	*reply = *args
	return nil
}

func register(s *rpc.Server) {
	must(s.Register(new(Arith)))
	must(s.Register(new(Embed)))
	must(s.RegisterName("net.rpc.Arith", new(Arith)))
	must(s.Register(BuiltinTypes{}))
	must(s.Register(new(Echo)))
	must(s.Register(new(Picker)))
	must(s.Register(new(Arrays)))
}

func must(err error) {
	if err != nil {
		log.Fatal("goserver: ", err)
	}
}

func listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	return l
}

func main() {
	log.SetFlags(0)
	register(rpc.DefaultServer)

	gobL := listen()
	go rpc.Accept(gobL)

	jsonL := listen()
	go func() {
		for {
			conn, err := jsonL.Accept()
			if err != nil {
				return
			}
			go jsonrpc.ServeConn(conn)
		}
	}()

	// The default server on the default paths, and a second server on
	// /foo and /bar, as in Go's startNewServer.
	rpc.HandleHTTP()
	other := rpc.NewServer()
	register(other)
	must(other.RegisterName("newServer.Arith", new(Arith)))
	other.HandleHTTP("/foo", "/bar")
	httpL := listen()
	go http.Serve(httpL, nil)

	fmt.Printf("gob %s\njson %s\nhttp %s\nready\n", gobL.Addr(), jsonL.Addr(),
		httpL.Addr())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop <- syscall.SIGTERM
	}()
	<-stop
	os.Exit(0)
}
