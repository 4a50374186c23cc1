// gotls is the Go side of the TLS tests: Go's crypto/tls with net/rpc,
// standard library only. The certificates are those test_tls.c made in DIR
// (certs.h).
//
//	gotls -dir DIR server MODE
//
// serves Arith (Add, Mul) on 127.0.0.1 over TLS with server.pem, MODE being
// gob (tls.Listen + rpc.ServeConn), json (jsonrpc.ServeConn), http
// (rpc.HandleHTTP on an http.Server over the TLS listener) or mtls (gob,
// client certificates required and verified against ca.pem). It prints its
// address, then serves until its standard input closes.
//
//	gotls -dir DIR client gob=ADDR json=ADDR http=ADDR mtls=ADDR
//
// calls those servers with tls.Dial (trusting ca.pem) and rpc.NewClient,
// jsonrpc.NewClient, an HTTP CONNECT over TLS, and with client.pem for
// mtls, printing "ok MODE" for each that answered right; then checks that
// mtls refuses a client without a certificate ("ok mtls-refused"). Exits 1
// on the first failure.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"path/filepath"
	"strings"
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

func (t *Arith) Mul(args Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

var dir = flag.String("dir", "", "the directory of the certificates")

func pool() *x509.CertPool {
	pem, err := os.ReadFile(filepath.Join(*dir, "ca.pem"))
	if err != nil {
		log.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		log.Fatal("ca.pem: no certificate")
	}
	return p
}

func keyPair(name string) tls.Certificate {
	c, err := tls.LoadX509KeyPair(filepath.Join(*dir, name+".pem"),
		filepath.Join(*dir, name+".key"))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func serve(mode string) {
	cfg := &tls.Config{Certificates: []tls.Certificate{keyPair("server")}}
	if mode == "mtls" {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool()
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := rpc.NewServer()
	if err := srv.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	if mode == "http" {
		mux := http.NewServeMux()
		mux.Handle(rpc.DefaultRPCPath, srv)
		http.Serve(l, mux)
		return
	}
	for {
		conn, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		if mode == "json" {
			go srv.ServeCodec(jsonrpc.NewServerCodec(conn))
		} else {
			go srv.ServeConn(conn)
		}
	}
}

// dialHTTP is rpc.DialHTTP over an established connection.
func dialHTTP(conn net.Conn) (*rpc.Client, error) {
	io.WriteString(conn, "CONNECT "+rpc.DefaultRPCPath+" HTTP/1.0\n\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn),
		&http.Request{Method: "CONNECT"})
	if err != nil {
		return nil, err
	}
	if resp.Status != "200 Connected to Go RPC" {
		return nil, errors.New("unexpected HTTP response: " + resp.Status)
	}
	return rpc.NewClient(conn), nil
}

func call(mode, addr string, withCert bool) error {
	cfg := &tls.Config{RootCAs: pool(), ServerName: "127.0.0.1"}
	if withCert {
		cfg.Certificates = []tls.Certificate{keyPair("client")}
	}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	var c *rpc.Client
	switch mode {
	case "json":
		c = jsonrpc.NewClient(conn)
	case "http":
		if c, err = dialHTTP(conn); err != nil {
			conn.Close()
			return err
		}
	default:
		c = rpc.NewClient(conn)
	}
	defer c.Close()
	for i := 0; i < 20; i++ {
		var r Reply
		if err := c.Call("Arith.Add", Args{i, 100}, &r); err != nil {
			return err
		}
		if r.C != i+100 {
			return fmt.Errorf("Add(%d, 100) = %d", i, r.C)
		}
	}
	return nil
}

func client(addrs map[string]string) {
	for _, mode := range []string{"gob", "json", "http", "mtls"} {
		if err := call(mode, addrs[mode], mode == "mtls"); err != nil {
			fmt.Printf("FAIL %s: %v\n", mode, err)
			os.Exit(1)
		}
		fmt.Printf("ok %s\n", mode)
	}
	if err := call("mtls", addrs["mtls"], false); err == nil {
		fmt.Println("FAIL mtls-refused: a call without a certificate " +
			"succeeded")
		os.Exit(1)
	}
	fmt.Println("ok mtls-refused")
}

func main() {
	flag.Parse()
	args := flag.Args()
	if *dir == "" || len(args) < 2 {
		log.Fatal("usage: gotls -dir DIR server MODE | client K=ADDR...")
	}
	switch args[0] {
	case "server":
		serve(args[1])
	case "client":
		addrs := map[string]string{}
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			addrs[k] = v
		}
		client(addrs)
	default:
		log.Fatal("unknown mode " + args[0])
	}
}
