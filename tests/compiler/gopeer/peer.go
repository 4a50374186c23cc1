// peer.go - the Go side of test_go_peer.c, built as package main together
// with the all.rpc.go that `rpcgen-c --emit-go --go-package main` writes
// for golden/all.rpc. It uses only the generated names.
//
//	peer client CODEC HOST:PORT  calls every method through ArithClient,
//	                             EchoClient, ConfigClient and ShapesClient,
//	                             checks every
//	                             reply and
//	                             prints "ok N checks"; exits 1 on a mismatch
//	peer server CODEC            serves an ArithService, an EchoService and
//	                             a ShapesService with their Register on
//	                             127.0.0.1:0, prints "listening HOST:PORT"
//	                             and serves until its stdin is closed
//
// CODEC is gob (net/rpc's default) or json (net/rpc/jsonrpc). Over JSON
// the client leaves out Tally: Go's encoding/json cannot marshal an
// Everything, whose ByBool is a map[bool]string (docs/mapping.md).
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"reflect"
	"sort"
)

var checks int

func expect(what string, got, want interface{}) {
	checks++
	if !reflect.DeepEqual(got, want) {
		fmt.Printf("%s: got %#v, want %#v\n", what, got, want)
		os.Exit(1)
	}
}

func must(what string, err error) {
	if err != nil {
		fmt.Printf("%s: %v\n", what, err)
		os.Exit(1)
	}
}

func client(codec, addr string) {
	conn, err := net.Dial("tcp", addr)
	must("dial", err)
	var c *rpc.Client
	if codec == "json" {
		c = jsonrpc.NewClient(conn)
	} else {
		c = rpc.NewClient(conn)
	}
	defer c.Close()
	a := NewArithClient(c)

	p, err := a.Multiply(&Args{A: 7, B: 8})
	must("Multiply", err)
	expect("Multiply", p, int64(56))

	q, err := a.Divide(&Args{A: 17, B: 5})
	must("Divide", err)
	expect("Divide", q, &Quotient{Quo: 3, Rem: 2})

	q, err = a.Divide(&Args{A: 1})
	var se rpc.ServerError
	if !errors.As(err, &se) {
		fmt.Printf("Divide by zero: got %v (%T), want a ServerError\n", err, err)
		os.Exit(1)
	}
	expect("Divide by zero", []interface{}{q, string(se)},
		[]interface{}{(*Quotient)(nil), "divide by zero"})

	n, err := a.Negate(5)
	must("Negate", err)
	expect("Negate", n, int64(-5))

	s, err := a.Sort([]int64{3, -1, 2})
	must("Sort", err)
	expect("Sort", s, []int64{-1, 2, 3})

	q, err = a.Sum(map[string]int64{"a": 1, "b": 2, "c": 4})
	must("Sum", err)
	expect("Sum", q, &Quotient{Quo: 7, Rem: 3})

	three := int32(3)
	name := "set"
	e := &Everything{
		Flag:      true,
		I:         -2,
		U:         4000000000,
		F:         1.5,
		Name:      "every",
		Blob:      []byte{0, 1, 2},
		Kind:      Op_MUL,
		Inner:     &Args{A: 6, B: 7},
		Where:     &CommonPoint{X: 10, Y: 20},
		Paint:     CommonColor_BLUE,
		Nums:      []int64{1, 2, 3},
		Names:     []string{"x", "y"},
		Items:     []*Args{{A: 1}, {B: 2}},
		Ops:       []Op{Op_NEG, Op_ADD},
		Path:      []*CommonPoint{{X: 1}, {Y: 1}, {X: 2, Y: 2}},
		Counts:    map[string]int64{"k": 9},
		Places:    map[string]*CommonPoint{"home": {X: 3, Y: 4}},
		OpsByName: map[string]Op{"neg": Op_NEG},
		Maybe:     &three,
		MaybeName: &name,
	}
	if codec == "gob" {
		t, err := a.Tally(e)
		must("Tally", err)
		expect("Tally", t, map[string]int64{
			"flag": 1, "i": -2, "u": 4000000000, "f2": 3, "name": 5,
			"blob": 3, "kind": 1, "inner": 42, "where": 30, "paint": 2,
			"nums": 3, "names": 2, "items": 2, "ops0": -1, "path": 3,
			"counts.k": 9, "places.home": 7, "opsbyname.neg": -1,
			"maybe": 3, "maybename": 3, "maybel": -1,
		})
	}

	m, err := a.Move(&CommonPoint{X: 1, Y: 2})
	must("Move", err)
	expect("Move", m, &CommonPoint{X: 2, Y: 1})

	b, err := a.Echo("bytes")
	must("Echo", err)
	expect("Echo", b, []byte("bytes"))

	l, err := a.Expand(Op_NEG)
	must("Expand", err)
	expect("Expand", l, []*Args{{A: -1, B: 0}, {A: -1, B: 1}})

	es, err := NewEchoClient(c).Echo("héllo")
	must("Echo.Echo", err)
	expect("Echo.Echo", es, "héllo")

	// Go has no field defaults: a zero Defaults must come back zero
	// (the C server must not fill in its [default] values), and set
	// values, nested ones too, as sent.
	cc := NewConfigClient(c)
	dz, err := cc.Echo(&Defaults{})
	must("Config.Echo zero", err)
	expect("Config.Echo zero", dz, &Defaults{})
	dv := &Defaults{Retries: 3, Offset: -1, Name: "x", Kind: Op_MUL,
		More: []*Defaults{{Port: 1}, {}}}
	dr, err := cc.Echo(dv)
	must("Config.Echo values", err)
	expect("Config.Echo values", dr, dv)

	shapeChecks(codec, c)

	fmt.Printf("ok %d checks\n", checks)
}

// shapes are the Shapes test_go_peer.c's shape_make makes: none, then each
// member of oneof kind set (non-zero).
func shapes() []*Shape {
	radius, label, mode, ratio := int32(5), "lbl", Op_MUL, 2.5
	raw := []byte{0, 1}
	s := []*Shape{{}, {Radius: &radius}, {Label: &label},
		{Box: &Args{A: 1, B: 2}}, {Raw: &raw}, {Mode: &mode},
		{Ratio: &ratio}}
	for k, x := range s {
		x.Name, x.Tail = "shape", int32(40+k)
	}
	return s
}

// which names the member of oneof kind that is set: "" for none, "two"
// for more than one.
func which(s *Shape) string {
	set := []string{}
	if s.Radius != nil {
		set = append(set, "Radius")
	}
	if s.Label != nil {
		set = append(set, "Label")
	}
	if s.Box != nil {
		set = append(set, "Box")
	}
	if s.Raw != nil {
		set = append(set, "Raw")
	}
	if s.Mode != nil {
		set = append(set, "Mode")
	}
	if s.Ratio != nil {
		set = append(set, "Ratio")
	}
	switch len(set) {
	case 0:
		return ""
	case 1:
		return set[0]
	}
	return "two"
}

// shapeChecks: oneofs through the generated ShapesClient, 13 checks. A
// member set to zero arrives over gob unset (gob leaves out a pointer to
// zero), over JSON set; two members set are an error that answers that
// call only.
func shapeChecks(codec string, c *rpc.Client) {
	sc := NewShapesClient(c)
	for _, s := range shapes() {
		got, err := sc.Echo(s)
		must("Shapes.Echo "+which(s), err)
		expect("Shapes.Echo "+which(s), got, s)
	}
	label := "lbl"
	w, err := sc.Which(&Shape{Label: &label})
	must("Shapes.Which", err)
	expect("Shapes.Which", w, "Label")
	w, err = sc.Which(&Shape{})
	must("Shapes.Which none", err)
	expect("Shapes.Which none", w, "")

	zero := int32(0)
	got, err := sc.Echo(&Shape{Radius: &zero})
	must("Shapes.Echo zero", err)
	w, err = sc.Which(&Shape{Radius: &zero})
	must("Shapes.Which zero", err)
	if codec == "gob" {
		expect("Shapes.Echo zero", got, &Shape{})
		expect("Shapes.Which zero", w, "")
	} else {
		expect("Shapes.Echo zero", got, &Shape{Radius: &zero})
		expect("Shapes.Which zero", w, "Radius")
	}

	one := int32(1)
	_, err = sc.Which(&Shape{Radius: &one, Label: &label})
	var se rpc.ServerError
	if !errors.As(err, &se) {
		fmt.Printf("Shapes.Which two: got %v (%T), want a ServerError\n", err, err)
		os.Exit(1)
	}
	expect("Shapes.Which two", string(se), codec+": field Shape.Label: "+
		"another member of its oneof (Radius) is set")
	w, err = sc.Which(&Shape{Label: &label})
	must("Shapes.Which after two", err)
	expect("Shapes.Which after two", w, "Label")
}

// arith implements ArithService the way test_calls.c's handlers do.
type arith struct{}

func (arith) Multiply(args *Args, reply *int64) error {
	*reply = args.A * args.B
	return nil
}

func (arith) Divide(args *Args, reply *Quotient) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	reply.Quo, reply.Rem = args.A/args.B, args.A%args.B
	return nil
}

func (arith) Negate(x int64, reply *int64) error {
	*reply = -x
	return nil
}

func (arith) Sort(nums []int64, reply *[]int64) error {
	*reply = append([]int64(nil), nums...)
	sort.Slice(*reply, func(i, j int) bool { return (*reply)[i] < (*reply)[j] })
	return nil
}

func (arith) Sum(counts map[string]int64, reply *Quotient) error {
	for _, v := range counts {
		reply.Quo += v
	}
	reply.Rem = int64(len(counts))
	return nil
}

func (arith) Tally(e *Everything, reply *map[string]int64) error {
	r := map[string]int64{
		"nums": int64(len(e.Nums)), "names": int64(len(e.Names)),
		"maybe": -1,
	}
	if e.Maybe != nil {
		r["maybe"] = int64(*e.Maybe)
	}
	if e.Inner != nil {
		r["inner"] = e.Inner.A * e.Inner.B
	}
	if e.Where != nil {
		r["where"] = e.Where.X + e.Where.Y
	}
	r["paint"] = int64(e.Paint)
	*reply = r
	return nil
}

func (arith) Move(p *CommonPoint, reply *CommonPoint) error {
	reply.X, reply.Y = p.X+1, p.Y-1
	return nil
}

func (arith) Echo(s string, reply *[]byte) error {
	*reply = []byte(s)
	return nil
}

func (arith) Expand(op Op, reply *[]*Args) error {
	n := 1
	if op == Op_NEG {
		n = 2
	}
	for i := 0; i < n; i++ {
		*reply = append(*reply, &Args{A: int64(op), B: int64(i)})
	}
	return nil
}

type shapesImpl struct{}

func (shapesImpl) Echo(s *Shape, reply *Shape) error {
	*reply = *s
	return nil
}

func (shapesImpl) Which(s *Shape, reply *string) error {
	*reply = which(s)
	return nil
}

type echo struct{}

func (echo) Echo(in string, out *string) error {
	*out = in
	return nil
}

func server(codec string) {
	s := rpc.NewServer()
	must("RegisterArith", RegisterArith(s, arith{}))
	must("RegisterEcho", RegisterEcho(s, echo{}))
	must("RegisterShapes", RegisterShapes(s, shapesImpl{}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must("listen", err)
	fmt.Printf("listening %s\n", l.Addr())
	go func() {
		// the test closes our stdin when it is done (or dies)
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		conn, err := l.Accept()
		must("accept", err)
		if codec == "json" {
			go s.ServeCodec(jsonrpc.NewServerCodec(conn))
		} else {
			go s.ServeConn(conn)
		}
	}
}

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "client":
		client(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "server":
		server(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: peer client gob|json HOST:PORT | peer server gob|json")
		os.Exit(2)
	}
}
