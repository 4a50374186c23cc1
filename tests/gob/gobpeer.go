// gobpeer is the Go side of the gob codec tests: it writes gob streams
// exactly as net/rpc does (the rpc.Request/rpc.Response headers, then the
// body) and decodes streams written by the C codec with Go's encoding/gob.
//
//	gobpeer write CASE   writes the stream of CASE to stdout
//	gobpeer read CASE    decodes a stream of CASE from stdin and prints each
//	                     header and body as one JSON line
//	gobpeer serve        serves Arith with net/rpc on 127.0.0.1:0, prints the
//	                     address, and exits when stdin closes
//	gobpeer call ADDR    calls Arith at ADDR with net/rpc and prints the
//	                     results as JSON lines
//	gobpeer serve-http, gobpeer call-http ADDR
//	                     the same over HTTP (rpc.HandleHTTP, rpc.DialHTTP)
//	gobpeer bench        times Go's Encoder/Decoder on the values that
//	                     bench_gob.c times in C
//	gobpeer call-bad ADDR
//	                     sends an argument of the wrong type, then a good
//	                     call on the same connection
//	gobpeer call-iface ADDR
//	                     sends arguments whose interface fields hold types
//	                     new to the stream (which Go splits across
//	                     messages): to a method that does not exist, and as
//	                     a field the server's argument type lacks
//
// Every run is a fresh process, so gob assigns type ids in the order the
// case first uses its types; the C encoder does the same per stream, which
// makes the two streams comparable byte for byte.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"time"
)

type Args struct {
	A, B int64
}

// Everything mirrors main.Everything of gobtest.proto: the field names are
// the protobuf names with the first letter upper-cased, in field number
// order; messages are pointers, enums int32.
type Everything struct {
	Flag         bool
	I32          int32
	I64          int64
	U32          uint32
	U64          uint64
	S32          int32
	S64          int64
	F32          uint32
	F64          uint64
	Sf32         int32
	Sf64         int64
	Fl           float32
	Db           float64
	Name         string
	Blob         []byte
	Kind         int32
	Inner        *Args
	Items        []*Args
	Nums         []int64
	Strs         []string
	Bools        []bool
	Dbls         []float64
	Blobs        [][]byte
	U32s         []uint32
	Fls          []float32
	Kinds        []int32
	I32s         []int32
	Counts       map[string]int64
	Names        map[int32]string
	By_flag      map[bool]*Args
	Weights      map[uint64]float64
	Args_by_name map[string]*Args
}

type Optionals struct {
	Maybe   *int32
	Maybe_s *string
	Maybe_d *float64
	Maybe_b *bool
}

// ArgsV2 is a later version of Args: fields reordered, new fields of many
// kinds that an older reader skips.
type ArgsV2 struct {
	Extra []string
	B     int64
	Note  struct{ X float64 }
	M     map[string][]int
	C     complex128
	A     int64
	Tail  [2]uint16
}

// WithAny is Args with interface fields around, which a reader of Args
// skips: a registered struct, builtins, nil, and a slice of them.
type WithAny struct {
	A    int64
	Any  any
	B    int64
	List []any
}

// Extra travels only inside interface values: its definition and those of
// its slice and map fields come mid-stream, one message each.
type Extra struct {
	Tags []string
	N    map[string]int
}

// TaggedQuotient is Quotient with an interface field, which a reader of
// Quotient skips (Arith.Tagged's reply).
type TaggedQuotient struct {
	Quo, Rem int64
	Tag      any
}

// Note is new to the stream in an element of a long []any, which Go splits
// after the element's type definition.
type Note struct{ Text string }

// withExtra is the argument of callIface's third call.
func withExtra() *WithAny {
	list := []any{Note{Text: "n"}}
	for i := 0; i < 100; i++ {
		list = append(list, int64(i))
	}
	return &WithAny{A: 3, B: 4, List: list,
		Any: Extra{Tags: []string{"a", "b"}, N: map[string]int{"x": 1}}}
}

func init() {
	gob.Register(Quotient{})
	gob.Register(Extra{})
	gob.Register(Note{})
}

// Node mirrors main.Node (recursive).
type Node struct {
	V    int64
	Next *Node
}

// fullEverything is the value of case "everything"; maps have one entry so
// that the stream does not depend on Go's map order.
func fullEverything() *Everything {
	return &Everything{
		Flag: true, I32: -2147483648, I64: math.MinInt64, U32: 4294967295,
		U64: math.MaxUint64, S32: -17, S64: 1 << 40, F32: 7, F64: 1 << 63,
		Sf32: -1, Sf64: -(1 << 50), Fl: 1.5, Db: -3.25e100,
		Name: "héllo, gob", Blob: []byte{0, 1, 2, 255}, Kind: -5,
		Inner: &Args{A: 6, B: 7},
		Items: []*Args{{A: 1, B: 2}, {}, {A: -3}},
		Nums:  []int64{0, -1, 1, 1 << 62}, Strs: []string{"a", "", "ccc"},
		Bools: []bool{true, false, true}, Dbls: []float64{0, 17, -0.5},
		Blobs: [][]byte{{}, {9}}, U32s: []uint32{0, 128, 65536},
		Fls: []float32{0.25, -2}, Kinds: []int32{1, -5, 0}, I32s: []int32{-7},
		Counts:       map[string]int64{"x": 3},
		Names:        map[int32]string{-2: "minus two"},
		By_flag:      map[bool]*Args{true: {A: 1}},
		Weights:      map[uint64]float64{42: 0.125},
		Args_by_name: map[string]*Args{"k": {B: 9}},
	}
}

func mapsEverything() *Everything {
	return &Everything{
		Counts:       map[string]int64{"a": 1, "b": -2, "": 0, "dd": 1 << 33},
		Names:        map[int32]string{0: "zero", 1: "one", -1: "minus"},
		By_flag:      map[bool]*Args{true: {A: 1}, false: {B: 2}},
		Weights:      map[uint64]float64{1: 1.5, 2: -2.5},
		Args_by_name: map[string]*Args{"p": {A: 5, B: 6}, "q": {}},
	}
}

func i32p(v int32) *int32   { return &v }
func strp(v string) *string { return &v }

// writes lists each case's (header, body) pairs.
func writes(c string) []any {
	req := func(sm string, seq uint64) *rpc.Request {
		return &rpc.Request{ServiceMethod: sm, Seq: seq}
	}
	resp := func(sm string, seq uint64, e string) *rpc.Response {
		return &rpc.Response{ServiceMethod: sm, Seq: seq, Error: e}
	}
	switch c {
	case "args":
		return []any{req("Arith.Multiply", 0), &Args{A: 6, B: 7},
			req("Arith.Multiply", 1), &Args{A: -1, B: 1 << 40}}
	case "everything":
		return []any{req("Test.Everything", 5), fullEverything()}
	case "zero":
		return []any{req("Test.Zero", 0), &Everything{}, req("", 1), &Args{}}
	case "maps":
		return []any{req("Test.Maps", 2), mapsEverything()}
	case "optionals":
		return []any{req("Test.Opt", 1), &Optionals{Maybe: i32p(-4), Maybe_s: strp("s")},
			req("Test.Opt", 2), &Optionals{Maybe: i32p(0)}}
	case "v2":
		return []any{req("Arith.Multiply", 9), &ArgsV2{Extra: []string{"x"}, B: 2,
			Note: struct{ X float64 }{1.5}, M: map[string][]int{"m": {1, 2}},
			C: complex(1, 2), A: 3, Tail: [2]uint16{4, 5}}}
	case "iface":
		// the last value holds a struct type new to the stream, which Go
		// splits across messages
		return []any{req("Arith.Multiply", 1), &WithAny{A: 1, Any: "s", B: 2,
			List: []any{int64(3), "x", nil, true}},
			req("Arith.Multiply", 2), &WithAny{A: 3, B: 4},
			req("Arith.Multiply", 3), &WithAny{A: 5, Any: Quotient{Quo: 5}, B: 6}}
	case "iface-calls":
		// what callIface sends: interface values of types new to the
		// stream, to a method that does not exist and as a field that
		// Args lacks
		return []any{req("Arith.Nope", 0), &WithAny{A: 1, Any: Quotient{Quo: 5}, B: 2},
			req("Arith.Multiply", 1), &Args{A: 6, B: 7},
			req("Arith.Multiply", 2), withExtra(),
			req("Arith.Multiply", 3), &Args{A: 2, B: 5}}
	case "iface-reply":
		// Arith.Tagged's reply, then a plain one
		return []any{resp("Arith.Tagged", 1, ""), &TaggedQuotient{Quo: 3, Rem: 2,
			Tag: Extra{Tags: []string{"t"}, N: map[string]int{"n": 1}}},
			resp("Arith.Multiply", 2, ""), int64(42)}
	case "nested":
		n := &Node{V: 0}
		for i := 1; i < 20; i++ {
			n = &Node{V: int64(i), Next: n}
		}
		return []any{req("Test.Node", 3), n}
	case "replies":
		return []any{
			resp("Arith.Multiply", 3, ""), int64(42),
			resp("Arith.Divide", 4, "divide by zero"), struct{}{},
			resp("Arith.Divide", 5, ""), &Args{A: 3, B: 1},
			resp("Test.List", 6, ""), []int64{1, -2, 3},
			resp("Test.Args", 7, ""), []*Args{{A: 1}, {B: 2}},
			resp("Test.Map", 8, ""), map[string]int64{"one": 1},
			resp("Test.String", 9, ""), "bare string",
			resp("Test.Zero", 10, ""), int64(0),
			resp("Test.EmptyList", 11, ""), []int64{},
		}
	case "arrays":
		return []any{
			resp("BuiltinTypes.Array", 3, ""), [2]int64{7, -8},
			resp("BuiltinTypes.Array", 4, ""), [2]int64{},
			resp("Test.Names", 5, ""), [2]string{"", "b"},
		}
	}
	fmt.Fprintf(os.Stderr, "gobpeer: unknown case %q\n", c)
	os.Exit(2)
	return nil
}

// reads names the body type of each successive message of a case read back.
func readBody(c string, i int) any {
	switch c {
	case "args":
		return new(Args)
	case "everything", "zero", "maps":
		if c == "zero" && i == 1 {
			return new(Args)
		}
		return new(Everything)
	case "optionals":
		return new(Optionals)
	case "nested":
		return new(Node)
	case "arrays":
		return []any{new([2]int64), new([2]int64), new([2]string)}[i%3]
	case "replies":
		return []any{new(int64), new(struct{}), new(Args), new([]int64),
			new([]*Args), new(map[string]int64), new(string), new(int64),
			new([]int64)}[i%9]
	}
	fmt.Fprintf(os.Stderr, "gobpeer: unknown case %q\n", c)
	os.Exit(2)
	return nil
}

// printable makes a body JSON-encodable: JSON has no bool map keys.
func printable(v any) any {
	e, ok := v.(*Everything)
	if !ok {
		return v
	}
	type alias Everything
	cp := struct {
		*alias
		By_flag map[string]*Args
	}{(*alias)(e), map[string]*Args{}}
	for k, a := range e.By_flag {
		cp.By_flag[fmt.Sprint(k)] = a
	}
	return cp
}

type Quotient struct {
	Quo, Rem int64
}

// Arith is the service of the end-to-end tests, on both sides.
type Arith int

func (t *Arith) Multiply(args *Args, reply *int64) error {
	*reply = args.A * args.B
	return nil
}

func (t *Arith) Divide(args *Args, quo *Quotient) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	quo.Quo = args.A / args.B
	quo.Rem = args.A % args.B
	return nil
}

func (t *Arith) Echo(args *Everything, reply *Everything) error {
	*reply = *args
	return nil
}

func (t *Arith) Sum(args []int64, reply *int64) error {
	for _, v := range args {
		*reply += v
	}
	return nil
}

// Tagged divides as Divide does and tags the reply with a value of a type
// new to the stream.
func (t *Arith) Tagged(args *Args, quo *TaggedQuotient) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	quo.Quo, quo.Rem = args.A/args.B, args.A%args.B
	quo.Tag = Extra{Tags: []string{"t"}, N: map[string]int{"n": 1}}
	return nil
}

func serve(overHTTP bool) {
	srv := rpc.NewServer()
	if err := srv.Register(new(Arith)); err != nil {
		fmt.Fprintln(os.Stderr, "gobpeer:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobpeer:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	if overHTTP {
		mux := http.NewServeMux()
		mux.Handle(rpc.DefaultRPCPath, srv)
		go http.Serve(l, mux)
	} else {
		go srv.Accept(l)
	}
	io.Copy(io.Discard, os.Stdin)
}

// call makes the calls the C server must answer, printing one JSON line
// per result (or error).
func call(addr string, overHTTP bool) {
	dial := rpc.Dial
	if overHTTP {
		dial = rpc.DialHTTP
	}
	c, err := dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobpeer:", err)
		os.Exit(1)
	}
	defer c.Close()
	out := json.NewEncoder(os.Stdout)
	show := func(v any, err error) {
		if err != nil {
			out.Encode(map[string]string{"error": err.Error()})
		} else {
			out.Encode(printable(v))
		}
	}
	var prod int64
	show(&prod, c.Call("Arith.Multiply", &Args{A: 6, B: 7}, &prod))
	var q Quotient
	show(&q, c.Call("Arith.Divide", &Args{A: 7, B: 0}, &q))
	show(&q, c.Call("Arith.Divide", &Args{A: 17, B: 5}, &q))
	var e Everything
	show(&e, c.Call("Arith.Echo", fullEverything(), &e))
	var sum int64
	show(&sum, c.Call("Arith.Sum", []int64{1, 2, 3, -10}, &sum))
	show(nil, c.Call("Arith.Nope", &Args{}, &prod))
	show(nil, c.Call("Nope.Multiply", &Args{}, &prod))
	// concurrent calls; replies may come back in any order
	calls := make([]*rpc.Call, 20)
	prods := make([]int64, 20)
	for i := range calls {
		calls[i] = c.Go("Arith.Multiply", &Args{A: int64(i), B: 3}, &prods[i], nil)
	}
	for _, cl := range calls {
		<-cl.Done
		if cl.Error != nil {
			fmt.Fprintln(os.Stderr, "gobpeer:", cl.Error)
			os.Exit(1)
		}
	}
	show(prods, nil)
}

// callBad checks that a body of the wrong type fails that call only.
func callBad(addr string) {
	c, err := rpc.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobpeer:", err)
		os.Exit(1)
	}
	defer c.Close()
	var prod int64
	err = c.Call("Arith.Multiply", "six times seven", &prod)
	fmt.Println("error:", err)
	err = c.Call("Arith.Multiply", &Args{A: 6, B: 7}, &prod)
	fmt.Println("then:", prod, err)
}

// callIface sends interface values whose types are new to the stream: to
// a method that does not exist (the server reads the body into nothing),
// then as a field its argument type lacks, each followed by a plain call on
// the same connection.
func callIface(addr string) {
	c, err := rpc.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobpeer:", err)
		os.Exit(1)
	}
	defer c.Close()
	var prod int64
	err = c.Call("Arith.Nope", &WithAny{A: 1, Any: Quotient{Quo: 5}, B: 2}, &prod)
	fmt.Println("nope:", err)
	err = c.Call("Arith.Multiply", &Args{A: 6, B: 7}, &prod)
	fmt.Println("then:", prod, err)
	prod = 0
	err = c.Call("Arith.Multiply", withExtra(), &prod)
	fmt.Println("extra:", prod, err)
	err = c.Call("Arith.Multiply", &Args{A: 2, B: 5}, &prod)
	fmt.Println("then:", prod, err)
}

// benchRun writes (Request, v) with one Encoder and reads them back with
// one Decoder, n times; the steady state, as bench_gob.c measures.
func benchRun(name string, v any, mk func() any, n int) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	dec := gob.NewDecoder(&buf)
	size := 0
	t0 := time.Now()
	for i := 0; i < n; i++ {
		before := buf.Len()
		if err := enc.Encode(&rpc.Request{ServiceMethod: "Arith.Multiply", Seq: uint64(i)}); err != nil {
			panic(err)
		}
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
		size = buf.Len() - before
		var h rpc.Request
		if err := dec.Decode(&h); err != nil {
			panic(err)
		}
		if err := dec.Decode(mk()); err != nil {
			panic(err)
		}
	}
	ns := float64(time.Since(t0).Nanoseconds()) / float64(n)
	fmt.Printf("Go %-10s %8.0f ns/op (write+read, header+body), %d bytes/op\n", name, ns, size)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "bench" {
		benchRun("Args", &Args{A: 6, B: 7}, func() any { return new(Args) }, 1000000)
		benchRun("Everything", fullEverything(), func() any { return new(Everything) }, 200000)
		return
	}
	if len(os.Args) == 2 && (os.Args[1] == "serve" || os.Args[1] == "serve-http") {
		serve(os.Args[1] == "serve-http")
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "call-bad" {
		callBad(os.Args[2])
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "call-iface" {
		callIface(os.Args[2])
		return
	}
	if len(os.Args) == 3 && (os.Args[1] == "call" || os.Args[1] == "call-http") {
		call(os.Args[2], os.Args[1] == "call-http")
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gobpeer write|read CASE")
		os.Exit(2)
	}
	c := os.Args[2]
	switch os.Args[1] {
	case "write":
		w := bufio.NewWriter(os.Stdout)
		enc := gob.NewEncoder(w)
		for _, v := range writes(c) {
			if err := enc.Encode(v); err != nil {
				fmt.Fprintln(os.Stderr, "gobpeer:", err)
				os.Exit(1)
			}
		}
		w.Flush()
	case "read":
		dec := gob.NewDecoder(bufio.NewReader(os.Stdin))
		out := json.NewEncoder(os.Stdout)
		for i := 0; ; i++ {
			var hdr any
			if c == "replies" {
				hdr = new(rpc.Response)
			} else {
				hdr = new(rpc.Request)
			}
			if err := dec.Decode(hdr); err == io.EOF {
				return
			} else if err != nil {
				fmt.Fprintln(os.Stderr, "gobpeer: header:", err)
				os.Exit(1)
			}
			body := readBody(c, i)
			if err := dec.Decode(body); err != nil {
				fmt.Fprintln(os.Stderr, "gobpeer: body:", err)
				os.Exit(1)
			}
			if err := out.Encode(hdr); err != nil {
				fmt.Fprintln(os.Stderr, "gobpeer: json:", err)
				os.Exit(1)
			}
			if err := out.Encode(printable(body)); err != nil {
				fmt.Fprintln(os.Stderr, "gobpeer: json:", err)
				os.Exit(1)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: gobpeer write|read CASE")
		os.Exit(2)
	}
}
