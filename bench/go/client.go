// Command client is the Go net/rpc load generator of the rpcgen-c benchmark.
// It calls Arith.Multiply for a fixed time in one of three shapes and prints
// one line: "calls N seconds S cpu_us U" (U = this process's user+system CPU).
// Mode "large" calls Types.Echo instead (bench/large.rpc), one call at a
// time, with -size bytes and -items structs, at least once.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type Args struct{ A, B int64 }

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

var tlsDir = flag.String("tls", "", "speak TLS, trusting DIR/ca.pem")
var fresh = flag.Int("fresh", 0, "dial mode: no session cache (full handshakes)")
var sessions = tls.NewLRUClientSessionCache(16)

func dial(addr, codec string) *rpc.Client {
	var conn net.Conn
	var err error
	if *tlsDir != "" {
		pem, err := os.ReadFile(filepath.Join(*tlsDir, "ca.pem"))
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg := &tls.Config{RootCAs: pool}
		if *fresh == 0 {
			cfg.ClientSessionCache = sessions // resume, as ours does
		}
		conn, err = tls.Dial("tcp", addr, cfg)
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		log.Fatal(err)
	}
	if codec == "json" {
		return jsonrpc.NewClient(conn)
	}
	return rpc.NewClient(conn)
}

func cpuMicros() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

func main() {
	addr := flag.String("addr", "", "server address host:port")
	codec := flag.String("codec", "gob", "gob or json")
	mode := flag.String("mode", "sync", "sync, inflight or conns")
	depth := flag.Int("depth", 128, "calls in flight (inflight mode)")
	conns := flag.Int("conns", 8, "connections (conns mode)")
	secs := flag.Float64("seconds", 2, "run time")
	size := flag.Int("size", 0, "bytes in Blob.Data (large mode)")
	items := flag.Int("items", 0, "elements of Blob.Items (large mode)")
	flag.Parse()

	var calls int64
	deadline := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	check := func(args *Args, reply int64) {
		if reply != args.A*args.B {
			log.Fatalf("bad reply %d for %d*%d", reply, args.A, args.B)
		}
	}
	syncLoop := func(c *rpc.Client) {
		var n int64
		for i := int64(0); time.Now().Before(deadline); i++ {
			args := &Args{i, 7}
			var reply int64
			if err := c.Call("Arith.Multiply", args, &reply); err != nil {
				log.Fatal(err)
			}
			check(args, reply)
			n++
		}
		atomic.AddInt64(&calls, n)
	}

	cpu0 := cpuMicros()
	start := time.Now()
	switch *mode {
	case "dial":
		for i := int64(0); ; i++ {
			c := dial(*addr, *codec)
			var reply int64
			if err := c.Call("Arith.Multiply", &Args{i, 7}, &reply); err != nil {
				log.Fatal(err)
			}
			check(&Args{i, 7}, reply)
			c.Close()
			calls++
			if !time.Now().Before(deadline) {
				break
			}
		}
	case "sync":
		c := dial(*addr, *codec)
		syncLoop(c)
		c.Close()
	case "large":
		c := dial(*addr, *codec)
		args := &Blob{Data: make([]byte, *size)}
		for i := range args.Data {
			args.Data[i] = byte(i*131 + 7)
		}
		for i := 0; i < *items; i++ {
			args.Items = append(args.Items, &Item{int64(i), fmt.Sprintf("item-%d", i), float64(i) / 4})
		}
		for {
			var reply Blob
			if err := c.Call("Types.Echo", args, &reply); err != nil {
				log.Fatal(err)
			}
			if len(reply.Data) != *size || len(reply.Items) != *items ||
				(*size > 0 && reply.Data[*size-1] != args.Data[*size-1]) {
				log.Fatal("bad echo")
			}
			calls++
			if !time.Now().Before(deadline) {
				break
			}
		}
		c.Close()
	case "conns":
		var wg sync.WaitGroup
		for k := 0; k < *conns; k++ {
			c := dial(*addr, *codec)
			wg.Add(1)
			go func() { defer wg.Done(); syncLoop(c); c.Close() }()
		}
		wg.Wait()
	case "inflight":
		c := dial(*addr, *codec)
		done := make(chan *rpc.Call, *depth)
		var i int64
		start1 := func() {
			i++
			var reply int64
			c.Go("Arith.Multiply", &Args{i, 7}, &reply, done)
		}
		for k := 0; k < *depth; k++ {
			start1()
		}
		outstanding := *depth
		for outstanding > 0 {
			call := <-done
			outstanding--
			if call.Error != nil {
				log.Fatal(call.Error)
			}
			check(call.Args.(*Args), *call.Reply.(*int64))
			calls++
			if time.Now().Before(deadline) {
				start1()
				outstanding++
			}
		}
		c.Close()
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("calls %d seconds %.6f cpu_us %d\n", calls, elapsed, cpuMicros()-cpu0)
}
