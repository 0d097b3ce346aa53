package sip

import (
	"syscall"
	"testing"
	"unsafe"
)

// unsafeString shares b's memory, which a copy would not.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// TestIndexCtlPageEnd puts strings right before an inaccessible page: a
// load past the end of the string would fault.
func TestIndexCtlPageEnd(t *testing.T) {
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
	for n := 0; n <= 40; n++ {
		b := mem[page-n : page]
		if got := indexCtl(unsafeString(b)); got != -1 {
			t.Fatalf("len %d: indexCtl = %d, want -1", n, got)
		}
		if n > 0 {
			b[n-1] = '\n'
			if got := indexCtl(unsafeString(b)); got != n-1 {
				t.Fatalf("len %d: indexCtl = %d, want %d", n, got, n-1)
			}
			b[n-1] = 'a'
		}
	}
}
