// Command server is the Go net/rpc peer of the rpcgen-c benchmark: it serves
// Arith.Multiply over TCP with Go's default gob codec (or jsonrpc with
// -codec json) and prints "listening ADDR" once ready.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
)

type Args struct{ A, B int64 }

type Arith int

func (t *Arith) Multiply(args *Args, reply *int64) error {
	*reply = args.A * args.B
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	codec := flag.String("codec", "gob", "gob or json")
	flag.Parse()

	srv := rpc.NewServer()
	if err := srv.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", l.Addr())
	os.Stdout.Sync()
	for {
		conn, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		if *codec == "json" {
			go srv.ServeCodec(jsonrpc.NewServerCodec(conn))
		} else {
			go srv.ServeConn(conn)
		}
	}
}
