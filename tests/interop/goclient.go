// goclient is the Go side of the Go-client interop test: Go's real net/rpc
// and net/rpc/jsonrpc clients against our C server (cserver.c), making the
// assertions Go's own server_test.go makes, with error texts compared byte
// for byte with what a Go server sends.
//
//	goclient gob=HOST:PORT json=HOST:PORT http=HOST:PORT httppath=HOST:PORT
//	goclient -server PROGRAM
//	goclient -kill PROGRAM ...  (also kill private instances of PROGRAM)
//
// (interop-cserver --run goclient passes the addresses.) With -server it
// starts PROGRAM, which prints "gob ADDR", "json ADDR", "http ADDR",
// optionally "httppath ADDR", then "ready" (goserver does), and stops it
// at the end by closing its stdin: run against goserver this is the
// control that shows every assertion here holds for Go's own server.
// Every failed assertion is printed; the exit status is 1 if there was
// one, else 0.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"time"
)

type Args struct {
	A, B int
}

type Reply struct {
	C int
}

type Op int32

// Everything mirrors interop.rpc.
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

var (
	failMu   sync.Mutex
	failures int
)

func failf(mode, format string, a ...interface{}) {
	failMu.Lock()
	defer failMu.Unlock()
	failures++
	fmt.Printf("FAIL [%s] %s\n", mode, fmt.Sprintf(format, a...))
}

// expectErr checks that err is a server error with exactly text.
func expectErr(mode, what string, err error, text string) {
	if err == nil {
		failf(mode, "%s: expected error %q, got none", what, text)
		return
	}
	if _, ok := err.(rpc.ServerError); !ok {
		failf(mode, "%s: expected a ServerError, got %T %q", what, err, err)
	}
	if err.Error() != text {
		failf(mode, "%s: expected error %q, got %q", what, text, err.Error())
	}
}

func expectNoErr(mode, what string, err error) bool {
	if err != nil {
		failf(mode, "%s: unexpected error %q", what, err.Error())
		return false
	}
	return true
}

type dialer func() (*rpc.Client, error)

func testArith(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()

	// Synchronous calls.
	args := &Args{7, 8}
	reply := new(Reply)
	if expectNoErr(mode, "Add", client.Call("Arith.Add", args, reply)) &&
		reply.C != 15 {
		failf(mode, "Add: expected 15 got %d", reply.C)
	}

	// A method promoted from an embedded struct in Go; a service here.
	args = &Args{7, 0}
	reply = new(Reply)
	if expectNoErr(mode, "Embed.Exported",
		client.Call("Embed.Exported", args, reply)) && reply.C != 7 {
		failf(mode, "Embed.Exported: expected 7 got %d", reply.C)
	}

	// Nonexistent method, service, ill-formed name: Go's exact texts.
	expectErr(mode, "BadOperation",
		client.Call("Arith.BadOperation", args, new(Reply)),
		"rpc: can't find method Arith.BadOperation")
	expectErr(mode, "Arith.Unknown",
		client.Call("Arith.Unknown", args, new(Reply)),
		"rpc: can't find method Arith.Unknown")
	expectErr(mode, "Arith2.Add", client.Call("Arith2.Add", args, new(Reply)),
		"rpc: can't find service Arith2.Add")
	expectErr(mode, "NoDot", client.Call("NoDot", args, new(Reply)),
		"rpc: service/method request ill-formed: NoDot")
	expectErr(mode, "net.rpc.Arith.Nope",
		client.Call("net.rpc.Arith.Nope", args, new(Reply)),
		"rpc: can't find method net.rpc.Arith.Nope")

	// Out of order.
	args = &Args{7, 8}
	mulReply := new(Reply)
	mulCall := client.Go("Arith.Mul", args, mulReply, nil)
	addReply := new(Reply)
	addCall := client.Go("Arith.Add", args, addReply, nil)
	addCall = <-addCall.Done
	if expectNoErr(mode, "Add (async)", addCall.Error) && addReply.C != 15 {
		failf(mode, "Add (async): expected 15 got %d", addReply.C)
	}
	mulCall = <-mulCall.Done
	if expectNoErr(mode, "Mul (async)", mulCall.Error) && mulReply.C != 56 {
		failf(mode, "Mul (async): expected 56 got %d", mulReply.C)
	}

	// Handler errors.
	args = &Args{7, 0}
	expectErr(mode, "Div", client.Call("Arith.Div", args, new(Reply)),
		"divide by zero")
	expectErr(mode, "Error", client.Call("Arith.Error", args, new(Reply)),
		"ERROR")
	expectErr(mode, "Scan bad", client.Call("Arith.Scan", "twelve",
		new(Reply)), "expected integer")
	expectErr(mode, "Scan overflow", client.Call("Arith.Scan",
		"99999999999999999999", new(Reply)),
		`strconv.ParseInt: parsing "99999999999999999999": value out of range`)

	// Non-struct argument.
	str := fmt.Sprint(12345)
	reply = new(Reply)
	if expectNoErr(mode, "Scan", client.Call("Arith.Scan", &str, reply)) &&
		reply.C != 12345 {
		failf(mode, "Scan: expected 12345 got %d", reply.C)
	}

	// Non-struct reply.
	args = &Args{27, 35}
	str = ""
	if expectNoErr(mode, "String", client.Call("Arith.String", args, &str)) &&
		str != "27+35=62" {
		failf(mode, "String: expected 27+35=62 got %q", str)
	}

	args = &Args{7, 8}
	reply = new(Reply)
	if expectNoErr(mode, "Mul", client.Call("Arith.Mul", args, reply)) &&
		reply.C != 56 {
		failf(mode, "Mul: expected 56 got %d", reply.C)
	}

	// Service names with dots; "newServer.Arith" only on Go's second
	// server (the one on /foo).
	reply = new(Reply)
	if expectNoErr(mode, "net.rpc.Arith.Add", client.Call("net.rpc.Arith.Add",
		args, reply)) && reply.C != 15 {
		failf(mode, "net.rpc.Arith.Add: expected 15 got %d", reply.C)
	}
	reply = new(Reply)
	err = client.Call("newServer.Arith.Add", args, reply)
	if mode != "http /foo" {
		expectErr(mode, "newServer.Arith.Add", err,
			"rpc: can't find service newServer.Arith.Add")
	} else if expectNoErr(mode, "newServer.Arith.Add", err) && reply.C != 15 {
		failf(mode, "newServer.Arith.Add: expected 15 got %d", reply.C)
	}

	// Builtin reply types.
	replyMap := map[int]int{}
	if expectNoErr(mode, "Map", client.Call("BuiltinTypes.Map", args,
		&replyMap)) && !reflect.DeepEqual(replyMap, map[int]int{7: 8}) {
		failf(mode, "Map: expected map[7:8] got %v", replyMap)
	}
	replySlice := []int{}
	if expectNoErr(mode, "Slice", client.Call("BuiltinTypes.Slice", args,
		&replySlice)) && !reflect.DeepEqual(replySlice, []int{7, 8}) {
		failf(mode, "Slice: expected [7 8] got %v", replySlice)
	}
	replyArray := [2]int{5, 5}
	if expectNoErr(mode, "Array", client.Call("BuiltinTypes.Array", args,
		&replyArray)) && replyArray != [2]int{7, 8} {
		failf(mode, "Array: expected [7 8] got %v", replyArray)
	}
	zeroArgs := &Args{0, 0}
	if expectNoErr(mode, "Array (zeros)", client.Call("BuiltinTypes.Array",
		zeroArgs, &replyArray)) && replyArray != [2]int{0, 0} {
		failf(mode, "Array (zeros): expected [0 0] got %v", replyArray)
	}

	// The connection still works after all of that.
	reply = new(Reply)
	if expectNoErr(mode, "Add (last)", client.Call("Arith.Add", args,
		reply)) && reply.C != 15 {
		failf(mode, "Add (last): expected 15 got %d", reply.C)
	}
}

// testBadType sends a Reply where Args is expected, as Go's test does. Go's
// gob server refuses it (no field of Reply is one of Args); jsonrpc has no
// types and accepts it, so this runs for gob only.
func testBadType(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()
	reply := new(Reply)
	expectErr(mode, "bad type", client.Call("Arith.Add", reply, reply),
		"gob: type mismatch: no fields matched compiling decoder for Args")
	args := &Args{1, 2}
	if expectNoErr(mode, "Add after bad type",
		client.Call("Arith.Add", args, reply)) && reply.C != 3 {
		failf(mode, "Add after bad type: expected 3 got %d", reply.C)
	}
}

// ArgsPlus has fields the server's Args lacks; ArgsA lacks one it has.
type ArgsPlus struct {
	A, B  int
	Extra string
	More  []int
}

type ArgsA struct {
	A int
}

// testLoose checks what Go's decoders forgive and what they refuse:
// unknown fields are skipped, missing ones are zero, a string where a
// struct is expected is an error about the type, on gob and JSON alike.
func testLoose(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()
	reply := new(Reply)
	if expectNoErr(mode, "Add(ArgsPlus)", client.Call("Arith.Add",
		&ArgsPlus{7, 8, "extra", []int{1, 2}}, reply)) && reply.C != 15 {
		failf(mode, "Add(ArgsPlus): expected 15 got %d", reply.C)
	}
	reply = new(Reply)
	if expectNoErr(mode, "Add(ArgsA)", client.Call("Arith.Add",
		&ArgsA{7}, reply)) && reply.C != 7 {
		failf(mode, "Add(ArgsA): expected 7 got %d", reply.C)
	}
	// The texts differ from Go's in detail (Go names main.Args).
	err = client.Call("Arith.Add", "12", new(Reply))
	if err == nil {
		failf(mode, "Add(string): expected an error")
	} else if !strings.Contains(err.Error(), "type") {
		failf(mode, "Add(string): expected error about type; got %q", err)
	}
	err = client.Call("Arith.Scan", 5, new(Reply))
	if err == nil {
		failf(mode, "Scan(int): expected an error")
	} else if !strings.Contains(err.Error(), "type") {
		failf(mode, "Scan(int): expected error about type; got %q", err)
	}
	reply = new(Reply)
	if expectNoErr(mode, "Add after errors", client.Call("Arith.Add",
		&Args{1, 2}, reply)) && reply.C != 3 {
		failf(mode, "Add after errors: expected 3 got %d", reply.C)
	}
}

type ArgsS struct{ A string }
type ArgsU struct{ A, B uint }
type ArgsF struct{ A, B float64 }
type ArgsB struct {
	A int
	B bool
}

// testWrongTypes sends fields of the wrong type. gob refuses them all
// (texts differ from Go's in detail: Go names its own types); JSON numbers
// are numbers whatever Go type made them, strings and bools are not.
func testWrongTypes(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()
	cases := []struct {
		name string
		args interface{}
		gob  string // error prefix over gob
		json string // error prefix over JSON, "" for success
	}{
		{"string", &ArgsS{"x"}, "gob: wrong type",
			"json: cannot unmarshal string into Go struct field Args.A of type int"},
		{"uint", &ArgsU{1, 2}, "gob: wrong type", ""},
		{"float", &ArgsF{1, 2}, "gob: wrong type", ""},
		{"bool", &ArgsB{1, true}, "gob: wrong type",
			"json: cannot unmarshal bool into Go struct field Args.B of type int"},
	}
	for _, c := range cases {
		want := c.gob
		if mode == "json" {
			want = c.json
		}
		reply := new(Reply)
		err := client.Call("Arith.Add", c.args, reply)
		switch {
		case want == "" && err != nil:
			failf(mode, "Add(%s): unexpected error %q", c.name, err)
		case want == "" && reply.C != 3:
			failf(mode, "Add(%s): want 3, got %d", c.name, reply.C)
		case want != "" && err == nil:
			failf(mode, "Add(%s): want error %q..., got none", c.name, want)
		case want != "" && !strings.HasPrefix(err.Error(), want):
			failf(mode, "Add(%s): want error %q..., got %q", c.name, want, err)
		}
	}
	reply := new(Reply)
	if expectNoErr(mode, "Add after wrong types", client.Call("Arith.Add",
		&Args{1, 2}, reply)) && reply.C != 3 {
		failf(mode, "Add after wrong types: want 3, got %d", reply.C)
	}
}

func i32(v int32) *int32     { return &v }
func str(v string) *string   { return &v }
func f64(v float64) *float64 { return &v }

func fullEverything() *Everything {
	return &Everything{
		Flag:    true,
		I:       -2147483648,
		L:       -9223372036854775808,
		U:       4294967295,
		UL:      18446744073709551615,
		F:       1.5,
		D:       3.141592653589793,
		Name:    "héllo, \"wörld\" <&> \t\n",
		Blob:    []byte{0, 1, 0xff, 0x80, 'z'},
		Kind:    -1,
		Inner:   &Args{1, -2},
		Items:   []*Args{{0, 0}, {1, 10}, {2, 20}},
		Nums:    []int64{0, -1, 9223372036854775807, -9223372036854775808},
		Tags:    []string{"a", "", "ccc", "line\u2028sep\u2029 \x7f", "emoji \U0001F600 €"},
		Weights: []float64{0.5, -1e300, 0},
		Counts:  map[string]int64{"one": 1, "minus": -1000000000000},
		Names:   map[int64]string{7: "seven", -1: "minus one"},
		Places:  map[string]*Args{"a": {1, 2}, "b": {3, 4}},
		Maybe:   i32(-5),
		Note:    str("note"),
		Ratio:   f64(0.25),
	}
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

// testArrays echoes structs of arrays: full, and zero (Go's gob sends an
// all-zero array too; nil *Args elements cannot be sent, so zero ones).
func testArrays(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()
	in := &Fixed{
		Pair:  [2]int64{-9223372036854775808, 9223372036854775807},
		Names: [2]string{"héllo", ""},
		Two:   [2]*Args{{1, -2}, {0, 0}},
		Ops:   [3]Op{-1, 0, 2},
		Blob:  [1][]byte{{0, 0xff}},
		D:     [2]float64{0.5, -1e300},
		Tail:  42,
	}
	out := new(Fixed)
	if expectNoErr(mode, "Arrays.Echo", client.Call("Arrays.Echo", in,
		out)) && !reflect.DeepEqual(in, out) {
		failf(mode, "Arrays.Echo: sent %+v\n got %+v", *in, *out)
	}
	zero := &Fixed{Two: [2]*Args{{}, {}}, Blob: [1][]byte{{}}}
	out = new(Fixed)
	if expectNoErr(mode, "Arrays.Echo zero", client.Call("Arrays.Echo",
		zero, out)) && (out.Pair != [2]int64{} || out.Names != [2]string{} ||
		out.Two[0] == nil || *out.Two[1] != (Args{}) || out.Tail != 0 ||
		len(out.Blob[0]) != 0) {
		failf(mode, "Arrays.Echo zero: got %+v", *out)
	}
}

func testEcho(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()

	in := fullEverything()
	out := new(Everything)
	if expectNoErr(mode, "Echo", client.Call("Echo.Echo", in, out)) &&
		!reflect.DeepEqual(in, out) {
		failf(mode, "Echo: sent %+v\n got %+v", *in, *out)
	}

	// Zero values come back as zero values.
	out = new(Everything)
	if expectNoErr(mode, "Echo zero", client.Call("Echo.Echo",
		&Everything{}, out)) && !reflect.DeepEqual(*out, Everything{}) {
		failf(mode, "Echo zero: got %+v", *out)
	}
	// A present but zero nested struct stays present.
	out = new(Everything)
	if expectNoErr(mode, "Echo zero inner", client.Call("Echo.Echo",
		&Everything{Inner: &Args{}}, out)) &&
		(out.Inner == nil || *out.Inner != (Args{})) {
		failf(mode, "Echo zero inner: got Inner %v", out.Inner)
	}

	// Invalid UTF-8: gob keeps the bytes, JSON makes each one U+FFFD.
	out = new(Everything)
	want := "a\xffb\xc3"
	if mode == "json" {
		want = "a\uFFFDb\uFFFD"
	}
	if expectNoErr(mode, "Echo invalid UTF-8", client.Call("Echo.Echo",
		&Everything{Name: "a\xffb\xc3"}, out)) && out.Name != want {
		failf(mode, "Echo invalid UTF-8: want %q, got %q", want, out.Name)
	}

	// 1 MiB string and bytes.
	const mib = 1 << 20
	name := make([]byte, mib)
	blob := make([]byte, mib)
	for i := range name {
		name[i] = byte('a' + i%26)
		blob[i] = byte(i*7 + i>>11)
	}
	in = &Everything{Name: string(name), Blob: blob}
	out = new(Everything)
	if expectNoErr(mode, "Echo 1 MiB", client.Call("Echo.Echo", in, out)) {
		if out.Name != in.Name {
			failf(mode, "Echo 1 MiB: string differs (len %d)", len(out.Name))
		}
		if !bytes.Equal(out.Blob, in.Blob) {
			failf(mode, "Echo 1 MiB: bytes differ (len %d)", len(out.Blob))
		}
	}
	// 128 Ki numbers.
	nums := make([]int64, mib/8)
	for i := range nums {
		nums[i] = int64(i) * 1000003
		if i%2 == 1 {
			nums[i] = -nums[i]
		}
	}
	in = &Everything{Nums: nums}
	out = new(Everything)
	if expectNoErr(mode, "Echo 1 MiB list", client.Call("Echo.Echo", in,
		out)) && !reflect.DeepEqual(out.Nums, nums) {
		failf(mode, "Echo 1 MiB list: differs (len %d)", len(out.Nums))
	}
}

// testInFlight has 100 calls in flight on one connection, behind a slow
// one that they overtake.
func testInFlight(mode string, dial dialer) {
	client, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer client.Close()
	const n = 100
	done := make(chan *rpc.Call, n+1)
	slow := client.Go("Arith.SleepMilli", &Args{50, 0}, new(Reply), done)
	calls := make([]*rpc.Call, n)
	for i := 0; i < n; i++ {
		calls[i] = client.Go("Arith.Add", &Args{i, 2*i + 1}, new(Reply), done)
	}
	timeout := time.After(60 * time.Second)
	for i := 0; i < n+1; i++ {
		select {
		case c := <-done:
			if !expectNoErr(mode, "in flight", c.Error) || c == slow {
				continue
			}
			a := c.Args.(*Args)
			if r := c.Reply.(*Reply); r.C != a.A+a.B {
				failf(mode, "in flight: Add(%d, %d) = %d", a.A, a.B, r.C)
			}
		case <-timeout:
			failf(mode, "in flight: only %d of %d calls completed", i, n+1)
			return
		}
	}
}

// testConcurrent: 10 goroutines x 100 calls, on one shared client and on a
// client each.
func testConcurrent(mode string, dial dialer) {
	const goroutines, calls = 10, 100
	shared, err := dial()
	if err != nil {
		failf(mode, "dial: %v", err)
		return
	}
	defer shared.Close()
	for _, own := range []bool{false, true} {
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				client := shared
				if own {
					c, err := dial()
					if err != nil {
						failf(mode, "dial: %v", err)
						return
					}
					defer c.Close()
					client = c
				}
				for i := 0; i < calls; i++ {
					reply := new(Reply)
					err := client.Call("Arith.Mul", &Args{g, i}, reply)
					if err != nil {
						failf(mode, "concurrent Mul: %v", err)
						return
					}
					if reply.C != g*i {
						failf(mode, "concurrent Mul(%d, %d) = %d", g, i,
							reply.C)
						return
					}
				}
			}(g)
		}
		wg.Wait()
	}
}

// testHTTPPages checks the HTTP side besides CONNECT: the debug page
// lists the services, and a GET of the RPC path gets 405 as from Go.
func testHTTPPages(mode, addr, rpcPath, debugPath string) {
	resp, err := http.Get("http://" + addr + debugPath)
	if err != nil {
		failf(mode, "GET %s: %v", debugPath, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		failf(mode, "GET %s: status %d", debugPath, resp.StatusCode)
	}
	for _, want := range []string{"Arith", "net.rpc.Arith", "BuiltinTypes",
		"Echo", "Mul", "Array", "Slice"} {
		if !bytes.Contains(body, []byte(want)) {
			failf(mode, "GET %s: page does not mention %s", debugPath, want)
		}
	}
	if _, err := rpc.DialHTTPPath("tcp", addr, "/nope"); err == nil {
		failf(mode, "DialHTTPPath /nope: expected an error")
	} else if !strings.Contains(err.Error(),
		"unexpected HTTP response: 404 Not Found") {
		failf(mode, "DialHTTPPath /nope: expected a 404; got %q", err)
	}
	resp, err = http.Get("http://" + addr + rpcPath)
	if err != nil {
		failf(mode, "GET %s: %v", rpcPath, err)
		return
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed ||
		string(body) != "405 must CONNECT\n" {
		failf(mode, "GET %s: status %d body %q, want 405 \"405 must "+
			"CONNECT\\n\"", rpcPath, resp.StatusCode, body)
	}
}

type mode struct {
	name string
	dial dialer
}

// makeModes gives the four ways of reaching a server at addrs.
func makeModes(addrs map[string]string) []mode {
	return []mode{
		{"gob", func() (*rpc.Client, error) { return rpc.Dial("tcp", addrs["gob"]) }},
		{"json", func() (*rpc.Client, error) { return jsonrpc.Dial("tcp", addrs["json"]) }},
		{"http", func() (*rpc.Client, error) { return rpc.DialHTTP("tcp", addrs["http"]) }},
		{"http /foo", func() (*rpc.Client, error) {
			return rpc.DialHTTPPath("tcp", addrs["httppath"], "/foo")
		}},
	}
}

// testServerDies starts a private instance of the server program, has
// calls in flight on mode i, and kills the server by pid: each call must
// fail with io.ErrUnexpectedEOF and a later one with rpc.ErrShutdown.
func testServerDies(path string, i int) {
	addrs, kill, stop := startServer(path)
	defer stop()
	m := makeModes(addrs)[i]
	name := m.name + " dies"
	client, err := m.dial()
	if err != nil {
		failf(name, "dial: %v", err)
		return
	}
	defer client.Close()
	const n = 10
	done := make(chan *rpc.Call, n)
	for j := 0; j < n; j++ {
		client.Go("Arith.SleepMilli", &Args{120000, 0}, new(Reply), done)
	}
	// Requests go out in order: once Add is answered, the server has read
	// every SleepMilli request.
	reply := new(Reply)
	if !expectNoErr(name, "Add", client.Call("Arith.Add", &Args{1, 2}, reply)) {
		return
	}
	kill()
	timeout := time.After(60 * time.Second)
	for j := 0; j < n; j++ {
		select {
		case c := <-done:
			if c.Error != io.ErrUnexpectedEOF {
				failf(name, "pending call: want %v, got %v",
					io.ErrUnexpectedEOF, c.Error)
			}
		case <-timeout:
			failf(name, "only %d of %d pending calls completed", j, n)
			return
		}
	}
	if err := client.Call("Arith.Add", &Args{1, 2}, reply); err != rpc.ErrShutdown {
		failf(name, "call after death: want %v, got %v", rpc.ErrShutdown, err)
	}
}

// testHostile: peers that send garbage, hang up at once or vanish with a
// call in flight cost only their own connection.
func testHostile(addrs map[string]string, modes []mode) {
	for _, k := range []string{"gob", "json", "http"} {
		for _, junk := range []string{"", "\xff\xff\xff\xffjunk\n",
			"{\"method\":", "CONNECT /_goRPC_ HTTP/1.0\r\n\r\n\x05"} {
			conn, err := net.Dial("tcp", addrs[k])
			if err != nil {
				failf(k, "hostile dial: %v", err)
				continue
			}
			conn.Write([]byte(junk))
			conn.Close()
		}
	}
	for _, m := range modes {
		client, err := m.dial()
		if err != nil {
			failf(m.name, "dial: %v", err)
			continue
		}
		client.Go("Arith.SleepMilli", &Args{100, 0}, new(Reply), nil)
		client.Go("Echo.Echo", fullEverything(), new(Everything), nil)
		client.Close()
	}
	for _, m := range modes {
		client, err := m.dial()
		if err != nil {
			failf(m.name, "dial after hostile peers: %v", err)
			continue
		}
		reply := new(Reply)
		if expectNoErr(m.name, "Add after hostile peers",
			client.Call("Arith.Add", &Args{20, 22}, reply)) && reply.C != 42 {
			failf(m.name, "Add after hostile peers: got %d", reply.C)
		}
		client.Close()
	}
}

// testRawWire speaks the wire by hand where Go's client never would:
// a gob request followed by a half-close (the reply to a call in flight
// still arrives), JSON ids that are not numbers (echoed verbatim), a
// request without params, and surplus params (ignored, as by Go).
func testRawWire(addrs map[string]string) {
	conn, err := net.Dial("tcp", addrs["gob"])
	if err != nil {
		failf("gob raw", "dial: %v", err)
		return
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	enc := gob.NewEncoder(conn)
	dec := gob.NewDecoder(conn)
	enc.Encode(&rpc.Request{ServiceMethod: "Arith.SleepMilli", Seq: 41})
	enc.Encode(&Args{100, 0})
	enc.Encode(&rpc.Request{ServiceMethod: "Arith.Add", Seq: 42})
	enc.Encode(&Args{40, 2})
	conn.(*net.TCPConn).CloseWrite()
	got := map[uint64]int{}
	for i := 0; i < 2; i++ {
		var resp rpc.Response
		var reply Reply
		if err := dec.Decode(&resp); err != nil {
			failf("gob raw", "after half-close: reading response %d: %v", i, err)
			break
		}
		if err := dec.Decode(&reply); err != nil {
			failf("gob raw", "after half-close: reading reply %d: %v", i, err)
			break
		}
		if resp.Error != "" {
			failf("gob raw", "seq %d: %s", resp.Seq, resp.Error)
		}
		got[resp.Seq] = reply.C
	}
	if !reflect.DeepEqual(got, map[uint64]int{41: 0, 42: 42}) {
		failf("gob raw", "after half-close: got replies %v", got)
	}
	conn.Close()

	type jsonResp struct {
		Id     json.RawMessage
		Result json.RawMessage
		Error  interface{}
	}
	// err is the error text, or its prefix when it ends in "...": our
	// int64 is Go's int, and the texts name the type.
	cases := []struct {
		req, id, result string
		err             interface{}
	}{
		{`{"method":"Arith.Add","params":[{"A":1e30}],"id":10}`, `10`, `null`,
			"json: cannot unmarshal number 1e30 into Go struct field Args.A of type int..."},
		{`{"method":"Arith.Add","params":[{"A":"1"}],"id":11}`, `11`, `null`,
			"json: cannot unmarshal string into Go struct field Args.A of type int..."},
		{`{"method":"Arith.Add","params":[{"A":1,"B":2}],"id":"abc"}`,
			`"abc"`, `{"C":3}`, nil},
		{`{"method":"Arith.Add","params":[{"A":1,"B":2}],"id":{"x": [1, 2.5]}}`,
			`{"x":[1,2.5]}`, `{"C":3}`, nil},
		{`{"method":"Arith.Add","params":[{"A":1,"B":2},{"junk":1}],"id":7}`,
			`7`, `{"C":3}`, nil},
		{`{"method":"Arith.Add","id":8}`,
			`8`, `null`, "jsonrpc: request body missing params"},
		{`{"method":"Arith.Add","params":[{"A":1,"B":2}],"id":9}`,
			`9`, `{"C":3}`, nil},
	}
	conn, err = net.Dial("tcp", addrs["json"])
	if err != nil {
		failf("json raw", "dial: %v", err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	jdec := json.NewDecoder(conn)
	for _, c := range cases {
		if _, err := io.WriteString(conn, c.req+"\n"); err != nil {
			failf("json raw", "write: %v", err)
			return
		}
		var r jsonResp
		if err := jdec.Decode(&r); err != nil {
			failf("json raw", "%s: reading response: %v", c.req, err)
			return
		}
		errOK := reflect.DeepEqual(r.Error, c.err)
		if want, ok := c.err.(string); ok && strings.HasSuffix(want, "...") {
			got, _ := r.Error.(string)
			errOK = strings.HasPrefix(got, strings.TrimSuffix(want, "..."))
		}
		if string(r.Id) != c.id || string(r.Result) != c.result || !errOK {
			failf("json raw", "%s: got id %s result %s error %#v; want "+
				"id %s result %s error %#v", c.req, r.Id, r.Result, r.Error,
				c.id, c.result, c.err)
		}
	}
}

// testMismatch dials a listener of librpc's native framing with Go's gob,
// JSON-RPC and HTTP clients: each learns that it speaks the wrong
// protocol, in an error it can show, instead of "unexpected EOF".
func testMismatch(addr string) {
	dials := []struct {
		name string
		dial func(string, string) (*rpc.Client, error)
	}{{"gob", rpc.Dial}, {"json", jsonrpc.Dial}}
	for _, d := range dials {
		mode := "mismatch " + d.name
		client, err := d.dial("tcp", addr)
		if !expectNoErr(mode, "dial", err) {
			continue
		}
		reply := new(Reply)
		err = client.Call("Arith.Add", &Args{1, 2}, reply)
		expectErr(mode, "Arith.Add", err, "rpc: the server speaks "+
			"protobuf, this client "+d.name+": use the protobuf codec")
		client.Close()
	}
	_, err := rpc.DialHTTP("tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
		failf("mismatch http", "DialHTTP: want a 400 response, got %v",
			err)
	}
	fmt.Println("ok [mismatch]")
}

// startServer runs the server program path and reads its addresses; stop
// closes its stdin and waits for it to exit (killing it by pid after 30 s).
func startServer(path string) (map[string]string, func(), func()) {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		fmt.Println("FAIL goclient:", err)
		os.Exit(1)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Println("FAIL goclient:", err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Println("FAIL goclient: starting server:", err)
		os.Exit(1)
	}
	addrs := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok {
			addrs[k] = v
		}
	}
	go io.Copy(io.Discard, out)
	if addrs["httppath"] == "" {
		addrs["httppath"] = addrs["http"]
	}
	killed := false
	kill := func() {
		killed = true
		cmd.Process.Kill()
	}
	stop := func() {
		in.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil && !killed {
				failf("server", "%s exited with %v", path, err)
			}
		case <-time.After(30 * time.Second):
			failf("server", "%s did not exit; killing pid %d", path,
				cmd.Process.Pid)
			cmd.Process.Kill()
			<-exited
		}
	}
	return addrs, kill, stop
}

func main() {
	server := flag.String("server", "", "start this server program")
	kill := flag.String("kill", "", "start private instances of this "+
		"server program and kill them with calls in flight")
	flag.Parse()
	addrs := map[string]string{}
	stop := func() {}
	if *server != "" {
		addrs, _, stop = startServer(*server)
	}
	for _, a := range flag.Args() {
		if k, v, ok := strings.Cut(a, "="); ok {
			addrs[k] = v
		}
	}
	for _, k := range []string{"gob", "json", "http", "httppath"} {
		if addrs[k] == "" {
			fmt.Fprintln(os.Stderr, "usage: goclient gob=ADDR json=ADDR "+
				"http=ADDR httppath=ADDR")
			os.Exit(2)
		}
	}
	time.AfterFunc(5*time.Minute, func() {
		fmt.Println("FAIL goclient: still running after 5 minutes")
		os.Exit(1)
	})

	modes := makeModes(addrs)
	for _, m := range modes {
		testArith(m.name, m.dial)
		if m.name != "json" {
			testBadType(m.name, m.dial)
		}
		testLoose(m.name, m.dial)
		testWrongTypes(m.name, m.dial)
		testEcho(m.name, m.dial)
		testArrays(m.name, m.dial)
		testInFlight(m.name, m.dial)
		testConcurrent(m.name, m.dial)
		fmt.Printf("ok [%s]\n", m.name)
	}
	testHTTPPages("http", addrs["http"], "/_goRPC_", "/debug/rpc")
	testHTTPPages("http /foo", addrs["httppath"], "/foo", "/bar")
	testHostile(addrs, modes)
	if addrs["protobuf"] != "" {
		testMismatch(addrs["protobuf"])
	}
	testRawWire(addrs)
	if *kill != "" {
		for i := range modes {
			testServerDies(*kill, i)
		}
	}
	stop()

	if failures > 0 {
		fmt.Printf("goclient: %d failed assertions\n", failures)
		os.Exit(1)
	}
	fmt.Println("goclient: all assertions passed")
}
