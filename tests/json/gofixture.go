// gofixture is the Go side of the JSON codec tests: the real
// net/rpc/jsonrpc codecs and encoding/json, standard library only.
//
//	gofixture vectors   prints "name<TAB>bytes" for each fixture: what Go's
//	                    jsonrpc client and server codecs write for values
//	                    that test_json_go.c builds the same way in C.
//	gofixture serve     runs a Go net/rpc server with the jsonrpc codec on
//	                    127.0.0.1 (Arith: Multiply, Divide, Echo, Sum;
//	                    BuiltinTypes: Map, Slice, Array),
//	                    prints its address, and serves until stdin closes.
//	gofixture call ADDR calls Arith and BuiltinTypes at ADDR with Go's jsonrpc
//	                    client and prints what came back, one line a call.
//	gofixture decode    reads "req TYPE JSON" and "resp TYPE JSON" lines and
//	                    decodes each with Go's server or client codec, then
//	                    prints what Go understood, re-encoded with
//	                    encoding/json (or the error text), one line each.
//
// The Go types mirror tests/json/jt.proto and jt2.proto.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"strings"
)

type Args struct {
	A, B int64
}

type Everything struct {
	Flag   bool
	I      int32
	L      int64
	U      uint32
	UL     uint64
	F      float32
	D      float64
	Name   string
	Blob   []byte
	Kind   int32
	Inner  *Args
	Items  []Args
	Nums   []int64
	Counts map[string]int64
	S32    int32
	S64    int64
	F32    uint32
	F64    uint64
	SF32   int32
	SF64   int64
	Names  []string
	Blobs  [][]byte
	Ds     []float64
	Bs     []bool
	ByNum  map[int64]string
	ByU    map[uint64]Args
	Kinds  []int32
	Fs     []float32
	Lower  string
}

type Opt struct {
	Maybe *int32
	S     *string
	U     *uint64
	R     int32
	B     *[]byte
}

// full is the fixture test_json_go.c builds as full_everything().
func full() *Everything {
	return &Everything{
		Flag:   true,
		I:      math.MinInt32,
		L:      math.MinInt64,
		U:      math.MaxUint32,
		UL:     math.MaxUint64,
		F:      0.1,
		D:      3.141592653589793,
		Name:   "h\u00e9llo <b>&amp; \u2028 \"q\" \\ \n\t\x01 \u2603 \x7f",
		Blob:   []byte{0, 1, 2, 253, 254, 255, 'a'},
		Kind:   1,
		Inner:  &Args{-1, 1},
		Items:  []Args{{1, 2}, {3, 4}},
		Nums:   []int64{1, -2, math.MaxInt64},
		Counts: map[string]int64{"b": 2, "a": 1, "<": 3, "": 0},
		S32:    -5,
		S64:    -6,
		F32:    7,
		F64:    8,
		SF32:   -9,
		SF64:   -10,
		Names:  []string{"x", "", "\u00fc"},
		Blobs:  [][]byte{{1}, {}, {255, 254}},
		Ds: []float64{0, math.Copysign(0, -1), 1e21, 1e20, 123456789,
			1e-6, 1e-7, 5e-324, math.MaxFloat64, 0.30000000000000004, 100,
			1.5e300, -2.5e-10, 12345.678},
		Bs:    []bool{true, false},
		ByNum: map[int64]string{10: "ten", 9: "nine", -1: "minus"},
		ByU:   map[uint64]Args{math.MaxUint64: {1, 1}, 0: {}},
		Kinds: []int32{0, 1, 7},
		Fs: []float32{math.MaxFloat32, 1e-7, 16777216, 0.1, 1.0000001,
			-0.5, 1e21},
		Lower: "low",
	}
}

type conn struct {
	io.Reader
	io.Writer
}

func (conn) Close() error { return nil }

func clientReq(method string, seq uint64, param any) string {
	var out bytes.Buffer
	c := jsonrpc.NewClientCodec(conn{strings.NewReader(""), &out})
	if err := c.WriteRequest(&rpc.Request{ServiceMethod: method, Seq: seq}, param); err != nil {
		return "error: " + err.Error() + "\n"
	}
	return out.String()
}

func serverResp(request, errText string, result any) string {
	var out bytes.Buffer
	c := jsonrpc.NewServerCodec(conn{strings.NewReader(request), &out})
	var req rpc.Request
	if err := c.ReadRequestHeader(&req); err != nil {
		return "error: " + err.Error() + "\n"
	}
	c.ReadRequestBody(nil)
	resp := rpc.Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq, Error: errText}
	if err := c.WriteResponse(&resp, result); err != nil {
		return "error: " + err.Error() + "\n"
	}
	return out.String()
}

func vectors() {
	seven, str, u, empty := int32(7), "s<", uint64(math.MaxUint64), []byte{}
	v := []struct {
		name string
		out  string
	}{
		{"req_args", clientReq("Arith.Multiply", 7, &Args{7, 8})},
		{"req_full", clientReq("Svc.Full", 1, full())},
		{"req_zero", clientReq("Svc.Zero", 2, &Everything{})},
		{"req_int64", clientReq("Arith.Square", 3, int64(-5))},
		{"req_string", clientReq("Echo.String", 4, "a<b>")},
		{"req_list", clientReq("Svc.List", 5, []Args{{1, 2}})},
		{"req_map", clientReq("Svc.Map", 6, map[string]int64{"z": 1, "a": 2})},
		{"req_bytes", clientReq("Svc.Bytes", 8, []byte("hi"))},
		{"req_uint64", clientReq("Svc.U", math.MaxUint64, uint64(math.MaxUint64))},
		{"resp_full_strid", serverResp(`{"method":"Svc.Full","params":[null],"id":"abc"}`, "", full())},
		{"resp_err_objid", serverResp(`{"method":"X.Y","params":[],"id": { "a" : [1, 2.50, "<&>"] } }`, "rpc: can't find service X.Y <&>", nil)},
		{"resp_int64_bigid", serverResp(`{"method":"A.B","params":[1],"id":12345678901234567890123}`, "", int64(42))},
		{"resp_noid", serverResp(`{"method":"A.B","params":[1]}`, "", "ok")},
		{"resp_nullid", serverResp(`{"method":"A.B","params":[1],"id":null}`, "", true)},
		{"resp_list", serverResp(`{"id":1}`, "", []Args{{5, 6}})},
		{"resp_double", serverResp(`{"id":2}`, "", 1e21)},
		{"resp_opt_set", serverResp(`{"id":3}`, "", &Opt{&seven, &str, &u, 1, &empty})},
		{"resp_opt_unset", serverResp(`{"id":4}`, "", &Opt{R: 2})},
	}
	for _, x := range v {
		fmt.Printf("%s\t%s", x.name, x.out)
	}
}

func newValue(typ string) any {
	switch typ {
	case "Args":
		return new(Args)
	case "Everything":
		return new(Everything)
	case "Opt":
		return new(Opt)
	case "int64":
		return new(int64)
	case "uint64":
		return new(uint64)
	case "string":
		return new(string)
	case "bytes":
		return new([]byte)
	case "bool":
		return new(bool)
	case "double":
		return new(float64)
	case "list":
		return new([]Args)
	case "map":
		return new(map[string]int64)
	}
	return nil
}

// goErr prints an error the way the C side spells it: our types have no Go
// package, so "main." goes.
func goErr(err error) string {
	return strings.ReplaceAll(err.Error(), "main.", "")
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "marshal error: " + err.Error()
	}
	return string(b)
}

func decode() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	for in.Scan() {
		f := strings.SplitN(in.Text(), " ", 3)
		if len(f) != 3 {
			fmt.Println("bad input line")
			continue
		}
		v := newValue(f[1])
		r := conn{strings.NewReader(f[2]), io.Discard}
		switch f[0] {
		case "req":
			c := jsonrpc.NewServerCodec(r)
			var req rpc.Request
			if err := c.ReadRequestHeader(&req); err != nil {
				fmt.Println("err", goErr(err))
			} else if err := c.ReadRequestBody(v); err != nil {
				fmt.Println("bodyerr", goErr(err))
			} else {
				fmt.Println("ok", req.ServiceMethod, marshal(v))
			}
		case "resp":
			c := jsonrpc.NewClientCodec(r)
			var resp rpc.Response
			if err := c.ReadResponseHeader(&resp); err != nil {
				fmt.Println("err", goErr(err))
			} else if resp.Error != "" {
				fmt.Println("rerr", resp.Seq, resp.Error)
			} else if err := c.ReadResponseBody(v); err != nil {
				fmt.Println("bodyerr", goErr(err))
			} else {
				fmt.Println("ok", resp.Seq, marshal(v))
			}
		default:
			fmt.Println("bad input line")
		}
	}
}

type Quotient struct {
	Quo, Rem int64
}

type Arith int

func (t *Arith) Multiply(a *Args, reply *int64) error {
	*reply = a.A * a.B
	return nil
}

func (t *Arith) Divide(a *Args, q *Quotient) error {
	if a.B == 0 {
		return errors.New("divide by zero")
	}
	q.Quo, q.Rem = a.A/a.B, a.A%a.B
	return nil
}

func (t *Arith) Echo(a *Everything, reply *Everything) error {
	*reply = *a
	return nil
}

func (t *Arith) Sum(a []int64, reply *int64) error {
	for _, x := range a {
		*reply += x
	}
	return nil
}

// BuiltinTypes is jsonrpc's all_test.go service (jbuiltin.rpc).
type BuiltinTypes struct{}

func (BuiltinTypes) Map(i int, reply *map[int]int) error {
	(*reply)[i] = i
	return nil
}

func (BuiltinTypes) Slice(i int, reply *[]int) error {
	*reply = append(*reply, i)
	return nil
}

func (BuiltinTypes) Array(i int, reply *[1]int) error {
	(*reply)[0] = i
	return nil
}

func serve() {
	srv := rpc.NewServer()
	if err := srv.Register(new(Arith)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := srv.Register(BuiltinTypes{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeCodec(jsonrpc.NewServerCodec(c))
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	l.Close()
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return "error: " + goErr(err)
}

func call(addr string) {
	c, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var p int64
	err = c.Call("Arith.Multiply", &Args{6, 7}, &p)
	fmt.Println("Multiply", p, errText(err))
	var q Quotient
	err = c.Call("Arith.Divide", &Args{17, 5}, &q)
	fmt.Println("Divide", marshal(q), errText(err))
	err = c.Call("Arith.Divide", &Args{1, 0}, &q)
	fmt.Println("Divide0", errText(err))
	var e Everything
	err = c.Call("Arith.Echo", full(), &e)
	fmt.Println("Echo", marshal(e), errText(err))
	var s int64
	err = c.Call("Arith.Sum", []int64{1, 2, 3, -10}, &s)
	fmt.Println("Sum", s, errText(err))
	err = c.Call("Arith.Nope", &Args{}, &p)
	fmt.Println("Nope", errText(err))
	err = c.Call("Nope.Multiply", &Args{}, &p)
	fmt.Println("NopeService", errText(err))
	err = c.Call("Arith.Multiply", "six", &p)
	fmt.Println("BadArgs", errText(err))
	var calls [20]*rpc.Call
	var prods [20]int64
	for i := range calls {
		calls[i] = c.Go("Arith.Multiply", &Args{int64(i), 3}, &prods[i], nil)
	}
	good := 0
	for i, call := range calls {
		<-call.Done
		if call.Error == nil && prods[i] == int64(3*i) {
			good++
		}
	}
	fmt.Println("Async", good)
	mp := map[int]int{}
	err = c.Call("BuiltinTypes.Map", 2, &mp)
	fmt.Println("Map", marshal(mp), errText(err))
	var sl []int
	err = c.Call("BuiltinTypes.Slice", 3, &sl)
	fmt.Println("Slice", marshal(sl), errText(err))
	ar := [1]int{9}
	err = c.Call("BuiltinTypes.Array", -4, &ar)
	fmt.Println("Array", marshal(ar), errText(err))
	c.Close()
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "serve" {
		serve()
	} else if len(os.Args) == 3 && os.Args[1] == "call" {
		call(os.Args[2])
	} else if len(os.Args) == 2 && os.Args[1] == "vectors" {
		vectors()
	} else if len(os.Args) == 2 && os.Args[1] == "decode" {
		decode()
	} else {
		fmt.Fprintln(os.Stderr, "usage: gofixture vectors|decode|serve|call ADDR")
		os.Exit(2)
	}
}
