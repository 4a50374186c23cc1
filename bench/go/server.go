// Command server is the Go net/rpc peer of the rpcgen-c benchmark: it serves
// Arith.Multiply and Types.Echo (bench/large.rpc) over TCP with Go's default gob codec (or jsonrpc with
// -codec json) and prints "listening ADDR" once ready.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"path/filepath"
)

type Args struct{ A, B int64 }

type Arith int

func (t *Arith) Multiply(args *Args, reply *int64) error {
	*reply = args.A * args.B
	return nil
}

// Item and Blob mirror bench/large.rpc.
type Item struct {
	Id    int64
	Name  string
	Score float64
}

type Blob struct {
	Data  []byte
	Items []*Item
}

type Types int

func (t *Types) Echo(args *Blob, reply *Blob) error {
	*reply = *args
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	codec := flag.String("codec", "gob", "gob or json")
	tlsDir := flag.String("tls", "", "speak TLS with DIR/server.pem and .key")
	flag.Parse()

	srv := rpc.NewServer()
	if err := srv.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	if err := srv.Register(new(Types)); err != nil {
		log.Fatal(err)
	}
	var l net.Listener
	var err error
	if *tlsDir != "" {
		cert, err := tls.LoadX509KeyPair(filepath.Join(*tlsDir, "server.pem"),
			filepath.Join(*tlsDir, "server.key"))
		if err != nil {
			log.Fatal(err)
		}
		l, err = tls.Listen("tcp", *addr,
			&tls.Config{Certificates: []tls.Certificate{cert}})
	} else {
		l, err = net.Listen("tcp", *addr)
	}
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
