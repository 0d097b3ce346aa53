package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input panics, that every error is an *Error with
// a position, and that a Config comes back exactly when there is no error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Default), "")
	f.Add([]byte(Sample), "--LogLevel=DEBUG")
	f.Fuzz(func(t *testing.T, text []byte, override string) {
		var overrides []string
		if override != "" {
			overrides = []string{override}
		}
		c, err := Parse("fuzz.config", text, overrides)
		if err == nil {
			if c == nil {
				t.Fatal("no Config and no error")
			}
			for _, w := range c.Warnings {
				if w.File == "" || w.Key == "" {
					t.Errorf("warning without a position: %v", w)
				}
			}
			for _, l := range c.Listeners {
				if !l.Addr.IsValid() || l.Addr.Port() == 0 || l.Pos.Key == "" {
					t.Errorf("bad listener %+v", l)
				}
			}
			return
		}
		if c != nil {
			t.Fatal("a Config with an error")
		}
		for _, e := range flatten(err) {
			var ce *Error
			if !errors.As(e, &ce) || ce.File == "" || ce.Msg == "" || ce.Line < 0 {
				t.Errorf("error without a position: %#v", e)
			}
		}
	})
}
