// Package cppproto serializes protobuf messages byte for byte as
// TensorFlow's C++ code does with SetSerializationDeterministic(true): the
// encoding of saved_model.pb and fingerprint.pb, and the input of
// TensorFlow's SavedModel fingerprint hashes.
//
// C++ protobuf writes fields in field-number order, oneof members included;
// protobuf-go writes oneof fields last, so proto.Marshal cannot reproduce
// TensorFlow's files. [Marshal] can, and it uses protobuf-go's own encoder
// for every message type whose order is the same in both runtimes.
package cppproto
