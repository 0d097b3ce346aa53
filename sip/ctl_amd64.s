#include "textflag.h"

// Sixteen copies of 0x1f (the largest control character below SP) and of
// 0x7f (DEL), for indexCtl.
DATA ctlLimits<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+16(SB)/8, $0x7f7f7f7f7f7f7f7f
DATA ctlLimits<>+24(SB)/8, $0x7f7f7f7f7f7f7f7f
GLOBL ctlLimits<>(SB), RODATA|NOPTR, $32

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

// func index3(s string, a, b, c uint64) int
//
// The first byte of s equal to the low byte of a, b or c (each given
// repeated in all eight bytes), sixteen bytes at a time like indexCtl.
TEXT ·index3(SB), NOSPLIT, $0-48
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	XORQ DI, DI
	MOVQ a+16(FP), X1
	MOVQ b+24(FP), X2
	MOVQ c+32(FP), X4
	CMPQ BX, $16
	JB   tbytes
	PUNPCKLQDQ X1, X1
	PUNPCKLQDQ X2, X2
	PUNPCKLQDQ X4, X4

tblock:
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	MOVO  X0, X5
	PCMPEQB X1, X3
	PCMPEQB X2, X0
	PCMPEQB X4, X5
	POR   X0, X3
	POR   X5, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  tfound
	ADDQ $16, DI
	LEAQ 16(DI), CX
	CMPQ CX, BX
	JBE  tblock
	CMPQ DI, BX
	JEQ  tnone
	// The last sixteen bytes; those before DI are known to hold none.
	MOVQ BX, DI
	SUBQ $16, DI
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	MOVO  X0, X5
	PCMPEQB X1, X3
	PCMPEQB X2, X0
	PCMPEQB X4, X5
	POR   X0, X3
	POR   X5, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JNZ  tfound

tnone:
	MOVQ $-1, ret+40(FP)
	RET

tfound:
	BSFL AX, AX
	ADDQ DI, AX
	MOVQ AX, ret+40(FP)
	RET

tbytes:
	MOVQ a+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ c+32(FP), R10

tnext:
	CMPQ DI, BX
	JEQ  tnone
	MOVBLZX (SI)(DI*1), AX
	CMPB AL, R8B
	JEQ  tbyte_found
	CMPB AL, R9B
	JEQ  tbyte_found
	CMPB AL, R10B
	JEQ  tbyte_found
	INCQ DI
	JMP  tnext

tbyte_found:
	MOVQ DI, ret+40(FP)
	RET
