#include "go_asm.h"
#include "textflag.h"

// Sixteen copies of 0x1f (the largest control character below SP) and of
// 0x7f (DEL), for lineEnds.
DATA ctlLimits<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ctlLimits<>+16(SB)/8, $0x7f7f7f7f7f7f7f7f
DATA ctlLimits<>+24(SB)/8, $0x7f7f7f7f7f7f7f7f
GLOBL ctlLimits<>(SB), RODATA|NOPTR, $32

// func index3(s string, a, b, c uint64) int
//
// The first byte of s equal to the low byte of a, b or c (each given
// repeated in all eight bytes), sixteen bytes at a time (SSE2, part of
// every amd64). The last partial block is read as the sixteen bytes that
// end the string, which overlap bytes already found clean; strings shorter
// than sixteen bytes are read byte by byte, so no load ever leaves the
// string.
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
	// The last sixteen bytes, through the same block code (those before DI
	// are known to hold none); after them DI reaches len(s).
	MOVQ BX, DI
	SUBQ $16, DI
	JMP  tblock

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

// func lineEnds(s string, ends *[maxLineEnds]uint32) (n, stop, kind int)
//
// The header lines of s, which starts at a line: the index of each line's
// LF goes to ends, 32 bytes at a time with AVX2 (16 with SSE2), until one
// of (kind):
//   lineEndsInput  s ended (stop = len(s));
//   lineEndsEmpty  an empty line ("\n" or "\r\n") ends the header fields
//                  (stop = the index of its LF; it is not recorded);
//   lineEndsOdd    a control character other than HTAB, or a CR not
//                  followed by LF (stop = its index);
//   lineEndsFull   ends is full (stop = where the next line starts).
TEXT ·lineEnds(SB), NOSPLIT, $0-48
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	MOVQ ends+16(FP), R8
	XORQ DI, DI          // start of the current block
	XORQ R9, R9          // lines recorded
	XORQ R10, R10        // start of the current line
	MOVQ $16, R13        // block size: 32 in the AVX2 loop, 1 for the last bytes
	MOVOU ctlLimits<>+0(SB), X1
	MOVOU ctlLimits<>+16(SB), X2
	CMPB ·hasAVX2(SB), $0
	JEQ  lblock
	VBROADCASTI128 ctlLimits<>+0(SB), Y1
	VBROADCASTI128 ctlLimits<>+16(SB), Y2
	MOVQ $32, R13

lavx:
	LEAQ 32(DI), CX
	CMPQ CX, BX
	JA   lavxdone
	VMOVDQU (SI)(DI*1), Y0
	VPMINUB Y1, Y0, Y3
	VPCMPEQB Y0, Y3, Y3
	VPCMPEQB Y2, Y0, Y0
	VPOR Y0, Y3, Y3
	VPMOVMSKB Y3, AX
	TESTL AX, AX
	JNZ  lbits
	ADDQ $32, DI
	JMP  lavx

lavxdone:
	// Fewer than 32 bytes left: on with SSE2 (X1 and X2 keep their
	// sixteen bytes).
	VZEROUPPER
	MOVQ $16, R13

lblock:
	LEAQ 16(DI), CX
	CMPQ CX, BX
	JA   lscalar
	MOVOU (SI)(DI*1), X0
	MOVO  X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR   X0, X3
	PMOVMSKB X3, AX
	TESTL AX, AX
	JZ   lnextblock

lbits:
	BSFL AX, CX
	LEAQ (DI)(CX*1), DX  // the control character's index
	MOVBLZX (SI)(DX*1), R11
	CMPB R11B, $0x0a
	JEQ  lnewline
	CMPB R11B, $0x09
	JEQ  lclear
	CMPB R11B, $0x0d
	JNE  lodd
	LEAQ 1(DX), R12
	CMPQ R12, BX
	JAE  lodd
	MOVBLZX (SI)(R12*1), R11
	CMPB R11B, $0x0a
	JNE  lodd

lclear:
	LEAL -1(AX), CX
	ANDL CX, AX
	JNZ  lbits

lnextblock:
	ADDQ R13, DI
	CMPQ R13, $32
	JEQ  lavx
	JMP  lblock

lnewline:
	// An empty line: LF at the line's start, or CR LF there.
	CMPQ DX, R10
	JEQ  lempty
	LEAQ 1(R10), R12
	CMPQ DX, R12
	JNE  lrecord
	MOVBLZX (SI)(R10*1), R11
	CMPB R11B, $0x0d
	JEQ  lempty

lrecord:
	MOVL DX, (R8)(R9*4)
	INCQ R9
	LEAQ 1(DX), R10
	CMPQ R9, $const_maxLineEnds
	JEQ  lfull
	JMP  lclear

lscalar:
	// Fewer than sixteen bytes left: each byte a block of its own, through
	// the same code (the block size of one brings DI back here).
	MOVQ $1, R13
	CMPQ DI, BX
	JAE  linput
	MOVBLZX (SI)(DI*1), R11
	CMPB R11B, $0x20
	JB   lscalar_ctl
	CMPB R11B, $0x7f
	JNE  lnextblock

lscalar_ctl:
	MOVL $1, AX
	JMP  lbits

linput:
	MOVQ BX, DX
	MOVQ $const_lineEndsInput, CX
	JMP  lret

lempty:
	MOVQ $const_lineEndsEmpty, CX
	JMP  lret

lodd:
	MOVQ $const_lineEndsOdd, CX
	JMP  lret

lfull:
	MOVQ R10, DX
	MOVQ $const_lineEndsFull, CX

lret:
	// Leaving the AVX2 loop: clear the upper halves for the SSE code
	// that may follow.
	CMPQ R13, $32
	JNE  lret2
	VZEROUPPER

lret2:
	MOVQ R9, n+24(FP)
	MOVQ DX, stop+32(FP)
	MOVQ CX, kind+40(FP)
	RET
