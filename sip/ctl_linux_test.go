package sip

import (
	"syscall"
	"testing"
	"unsafe"
)

// unsafeString shares b's memory, which a copy would not.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// TestByteSearchesPageEnd puts strings right before an inaccessible page:
// a load past the end of the string would fault.
func TestByteSearchesPageEnd(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	for i := 0; i < page; i++ {
		mem[i] = 'a'
	}
	for _, bs := range byteSearches {
		for n := 0; n <= 40; n++ {
			b := mem[page-n : page]
			if got := bs.fast(unsafeString(b)); got != -1 {
				t.Fatalf("%s, len %d: %d, want -1", bs.name, n, got)
			}
			if n > 0 {
				b[n-1] = '"'
				if bs.name == "indexCtl" {
					b[n-1] = '\n'
				}
				if got := bs.fast(unsafeString(b)); got != n-1 {
					t.Fatalf("%s, len %d: %d, want %d", bs.name, n, got, n-1)
				}
				b[n-1] = 'a'
			}
		}
	}
	// lineEnds reads up to the end as well, in blocks and byte by byte.
	forEachLineEnds(t, func(t *testing.T) { lineEndsPageEnd(t, mem, page) })
}

func lineEndsPageEnd(t *testing.T, mem []byte, page int) {
	for n := 0; n <= 72; n++ {
		b := mem[page-n : page]
		for i := range b {
			b[i] = 'a'
			if i%5 == 4 {
				b[i] = '\n'
			}
		}
		var ends [maxLineEnds]uint32
		var want [maxLineEnds]uint32
		gn, gstop, gkind := lineEndsGeneric(unsafeString(b), &want)
		if n2, stop, kind := lineEnds(unsafeString(b), &ends); n2 != gn || stop != gstop || kind != gkind {
			t.Fatalf("lineEnds, len %d: %d %d %d, want %d %d %d", n, n2, stop, kind, gn, gstop, gkind)
		}
	}
}
