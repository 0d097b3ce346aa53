module github.com/sipedge/sipedge

go 1.26.0

require pgregory.net/rapid v1.2.0

require golang.org/x/sys v0.49.0
