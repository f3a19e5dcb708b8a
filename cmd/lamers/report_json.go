package main

import (
	"encoding/json"
	"strconv"
)

// appendJSON appends j as json.MarshalIndent(j, "  ", "  ") writes it (the
// element of an array indented by two spaces), without reflection: a
// report of a million findings spends seconds in encoding/json otherwise.
// TestReportJSONStreamed holds it to encoding/json's output.
func (j *jsonFinding) appendJSON(b []byte) []byte {
	b = append(b, "{\n    \"zone\": "...)
	b = appendJSONString(b, j.Zone)
	b = append(b, ",\n    \"qname\": "...)
	b = appendJSONString(b, j.QName)
	b = append(b, ",\n    \"server\": "...)
	b = appendJSONString(b, j.Server)
	b = append(b, ",\n    \"port\": "...)
	b = strconv.AppendUint(b, uint64(j.Port), 10)
	b = append(b, ",\n    \"server_names\": "...)
	b = appendJSONStrings(b, j.ServerNames)
	b = append(b, ",\n    \"sources\": "...)
	b = appendJSONStrings(b, j.Sources)
	b = append(b, ",\n    \"observed\": "...)
	b = appendJSONStrings(b, j.Observed)
	b = append(b, ",\n    \"count\": "...)
	b = strconv.AppendInt(b, j.Count, 10)
	b = append(b, ",\n    \"first_seen\": "...)
	b = appendJSONString(b, j.FirstSeen)
	b = append(b, ",\n    \"last_seen\": "...)
	b = appendJSONString(b, j.LastSeen)
	b = append(b, ",\n    \"status\": "...)
	b = appendJSONString(b, j.Status)
	b = append(b, ",\n    \"reason\": "...)
	b = appendJSONString(b, j.Reason)
	b = append(b, ",\n    \"rounds\": "...)
	b = strconv.AppendInt(b, int64(j.Rounds), 10)
	b = append(b, ",\n    \"last_probed\": "...)
	b = appendJSONOptional(b, j.LastProbed)
	b = append(b, ",\n    \"contact\": "...)
	b = appendJSONString(b, j.Contact)
	b = append(b, ",\n    \"contact_source\": "...)
	b = appendJSONString(b, j.ContactSource)
	b = append(b, ",\n    \"last_notified\": "...)
	b = appendJSONOptional(b, j.LastNotified)
	b = append(b, ",\n    \"needs_human\": "...)
	b = strconv.AppendBool(b, j.NeedsHuman)
	if j.Overflow {
		b = append(b, ",\n    \"overflow\": true"...)
	}
	return append(b, "\n  }"...)
}

// appendJSONOptional appends *s, or null for nil.
func appendJSONOptional(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONStrings appends a list of strings at the indentation of a
// field of appendJSON.
func appendJSONStrings(b []byte, s []string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	if len(s) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, e := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n      "...)
		b = appendJSONString(b, e)
	}
	return append(b, "\n    ]"...)
}

// appendJSONString appends s as encoding/json writes a string: printable
// ASCII without '"', '\\' and the HTML characters <, >, & stands for
// itself; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil { // cannot happen for a string
				panic(err)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
