package logging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

// jsonCodec is Docker's json-file form: {"log":"...","stream":"stdout","time":"..."} per line.
type jsonCodec struct{}

type jsonEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

func (jsonCodec) encode(buf []byte, e Entry) []byte {
	b, _ := json.Marshal(jsonEntry{Log: string(e.Line), Stream: e.Stream, Time: e.Time.UTC().Format(time.RFC3339Nano)})
	buf = append(buf, b...)
	return append(buf, '\n')
}

func (jsonCodec) split(b []byte) (int, Entry, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, Entry{}, nil
	}
	var je jsonEntry
	if err := json.Unmarshal(b[:i], &je); err != nil {
		return i + 1, Entry{}, err
	}
	t, _ := time.Parse(time.RFC3339Nano, je.Time)
	return i + 1, Entry{Stream: je.Stream, Line: []byte(je.Log), Time: t}, nil
}

// localCodec is Docker's local driver form: each entry a protobuf LogEntry message
// (moby's api/types/plugins/logdriver/entry.proto: 1 source, 2 time_nano, 3 line, 4 partial)
// framed by its length as a big-endian uint32 before and after it. The line is kept without its
// newline; partial marks a piece of a longer line.
type localCodec struct{}

func (localCodec) encode(buf []byte, e Entry) []byte {
	line, partial := e.Line, true
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line, partial = line[:n-1], false
	}
	var msg []byte
	msg = appendTag(msg, 1, 2)
	msg = appendVarint(msg, uint64(len(e.Stream)))
	msg = append(msg, e.Stream...)
	if ns := e.Time.UnixNano(); !e.Time.IsZero() && ns != 0 { // proto3 leaves out a 0
		msg = appendTag(msg, 2, 0)
		msg = appendVarint(msg, uint64(ns))
	}
	if len(line) > 0 {
		msg = appendTag(msg, 3, 2)
		msg = appendVarint(msg, uint64(len(line)))
		msg = append(msg, line...)
	}
	if partial {
		msg = appendTag(msg, 4, 0)
		msg = append(msg, 1)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(msg)))
	buf = append(buf, msg...)
	return binary.BigEndian.AppendUint32(buf, uint32(len(msg)))
}

func appendTag(b []byte, field, wire int) []byte { return appendVarint(b, uint64(field<<3|wire)) }

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

var errBadEntry = errors.New("malformed local log entry")

func (localCodec) split(b []byte) (int, Entry, error) {
	if len(b) < 4 {
		return 0, Entry{}, nil
	}
	size := int(binary.BigEndian.Uint32(b))
	if len(b) < 8+size {
		return 0, Entry{}, nil
	}
	n := 8 + size
	if int(binary.BigEndian.Uint32(b[4+size:])) != size {
		return n, Entry{}, errBadEntry
	}
	e, err := decodeLocal(b[4 : 4+size])
	return n, e, err
}

func decodeLocal(msg []byte) (Entry, error) {
	e := Entry{Time: time.Unix(0, 0)} // proto3: a field left out is 0
	partial := false
	for len(msg) > 0 {
		key, k := varint(msg)
		if k <= 0 {
			return e, errBadEntry
		}
		msg = msg[k:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			v, k := varint(msg)
			if k <= 0 {
				return e, errBadEntry
			}
			msg = msg[k:]
			switch field {
			case 2:
				e.Time = time.Unix(0, int64(v))
			case 4:
				partial = v != 0
			}
		case 2:
			l, k := varint(msg)
			if k <= 0 || uint64(len(msg)-k) < l {
				return e, errBadEntry
			}
			v := msg[k : k+int(l)]
			msg = msg[k+int(l):]
			switch field {
			case 1:
				e.Stream = string(v)
			case 3:
				e.Line = append([]byte(nil), v...)
			}
		default:
			return e, errBadEntry
		}
	}
	if !partial {
		e.Line = append(e.Line, '\n')
	}
	return e, nil
}

func varint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
