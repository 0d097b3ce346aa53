#include "textflag.h"

// Sixteen copies of 0x1f (the largest control character below SP) and of
// 0x7f (DEL), for indexCtl.
DATA ctlLimits<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+16(SB)/8, $0x7f7f7f7f7f7f7f7f
DATA ctlLimits<>+24(SB)/8, $0x7f7f7f7f7f7f7f7f
GLOBL ctlLimits<>(SB), RODATA|NOPTR, $32

// Sixteen copies of the quote (0x22) and of the backslash (0x5c), for
// indexQuote.
DATA quoteBytes<>+0(SB)/8, $0x2222222222222222
DATA quoteBytes<>+8(SB)/8, $0x2222222222222222
DATA quoteBytes<>+16(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA quoteBytes<>+24(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL quoteBytes<>(SB), RODATA|NOPTR, $32

// func indexCtl(s string) int
//
// Sixteen bytes at a time (SSE2, part of every amd64): a byte b is flagged
// when min(b, 0x1f) == b or b == 0x7f. The last partial block is read as
// the sixteen bytes that end the string, which overlap bytes already found
// clean; strings shorter than sixteen bytes are read byte by byte, so no
// load ever leaves the string.
TEXT ·indexCtl(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	XORQ DI, DI
	CMPQ BX, $16
	JB   bytes
	MOVOU ctlLimits<>+0(SB), X1
	MOVOU ctlLimits<>+16(SB), X2

block:
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR   X0, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  found
	ADDQ $16, DI
	LEAQ 16(DI), CX
	CMPQ CX, BX
	JBE  block
	CMPQ DI, BX
	JEQ  none
	// The last sixteen bytes; those before DI are known clean.
	MOVQ BX, DI
	SUBQ $16, DI
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR   X0, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  found

none:
	MOVQ $-1, ret+16(FP)
	RET

found:
	BSFL AX, AX
	ADDQ DI, AX
	MOVQ AX, ret+16(FP)
	RET

bytes:
	CMPQ DI, BX
	JEQ  none
	MOVBLZX (SI)(DI*1), AX
	CMPB AL, $0x20
	JB   byte_found
	CMPB AL, $0x7f
	JEQ  byte_found
	INCQ DI
	JMP  bytes

byte_found:
	MOVQ DI, ret+16(FP)
	RET

// func indexQuote(s string) int
//
// The first '"' or '\\' of s, sixteen bytes at a time like indexCtl.
TEXT ·indexQuote(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	XORQ DI, DI
	CMPQ BX, $16
	JB   qbytes
	MOVOU quoteBytes<>+0(SB), X1
	MOVOU quoteBytes<>+16(SB), X2

qblock:
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	PCMPEQB X1, X3
	PCMPEQB X2, X0
	POR   X0, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  qfound
	ADDQ $16, DI
	LEAQ 16(DI), CX
	CMPQ CX, BX
	JBE  qblock
	CMPQ DI, BX
	JEQ  qnone
	// The last sixteen bytes; those before DI are known to hold neither.
	MOVQ BX, DI
	SUBQ $16, DI
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	PCMPEQB X1, X3
	PCMPEQB X2, X0
	POR   X0, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  qfound

qnone:
	MOVQ $-1, ret+16(FP)
	RET

qfound:
	BSFL AX, AX
	ADDQ DI, AX
	MOVQ AX, ret+16(FP)
	RET

qbytes:
	CMPQ DI, BX
	JEQ  qnone
	MOVBLZX (SI)(DI*1), AX
	CMPB AL, $0x22
	JEQ  qbyte_found
	CMPB AL, $0x5c
	JEQ  qbyte_found
	INCQ DI
	JMP  qbytes

qbyte_found:
	MOVQ DI, ret+16(FP)
	RET
