#!/bin/sh
# gen-big.sh [LINES] - print a valid .rpc file of about LINES lines
# (default 10000) for timing idl_load:
#   tests/idl/gen-big.sh > /tmp/big.rpc
#   BUILD/tests/idl/idl-dump --time 20 /tmp/big.rpc
# Structs of ten fields that refer to earlier structs, enums, and one
# service whose methods use them, with doc comments throughout.
set -eu
lines=${1:-10000}
awk -v lines="$lines" 'BEGIN {
	print "/// A generated file for timing the front end."
	print "package big;"
	print ""
	n = 3; i = 0
	while (n < lines - 200) {
		print "/// Struct number " i "."
		print "struct S" i " {"
		print "    int64 Id = 1;"
		print "    string Name = 2;"
		print "    /// Optional flag."
		print "    optional bool Flag = 3;"
		print "    list<int32> Values = 4;"
		print "    map<string, double> Weights = 5;"
		print "    E" i " Kind = 6;"
		if (i > 0) {
			print "    S" (i - 1) " Prev = 7;"
			print "    list<S" (i - 1) "> Items = 8;"
		} else {
			print "    bytes Prev = 7;"
			print "    list<bytes> Items = 8;"
		}
		print "    uint64 Count = 9;"
		print "    double Ratio = 10;"
		print "}"
		print "enum E" i " { ZERO = 0; ONE = 1; TWO = 2; }"
		print ""
		n += 16; i++
	}
	print "/// One service over all of them."
	print "service Big {"
	for (j = 0; n < lines - 1; j++) {
		print "    M" j "(S" (j % i) " args, S" ((j * 7) % i) " *reply);"
		n++
	}
	print "}"
}'
