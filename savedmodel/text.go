package savedmodel

import (
	"regexp"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// textFieldSpace matches the separator after a field name at the start of a
// line of multi-line prototext output: the name (or an [extension] or
// [type.googleapis.com/...] name), a colon, and one or two spaces.
var textFieldSpace = regexp.MustCompile(`(?m)^( *(?:[A-Za-z_][A-Za-z0-9_]*|\[[^\]\n]+\]):)  `)

// marshalText returns m in protobuf text format, one field per line, in a
// canonical form. prototext deliberately writes one or two spaces after
// "name:", chosen per binary, so that nobody depends on its bytes; Write
// promises byte-identical output for the same input, whatever build of the
// library writes it, so the separator is normalised to one space. In
// multi-line output every field starts a line and string values never hold
// a raw newline (prototext escapes it), so only separators are touched.
func marshalText(m proto.Message) ([]byte, error) {
	b, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return nil, err
	}
	return textFieldSpace.ReplaceAll(b, []byte("$1 ")), nil
}
