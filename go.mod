module github.com/sipedge/sipedge

go 1.26

require pgregory.net/rapid v1.2.0
