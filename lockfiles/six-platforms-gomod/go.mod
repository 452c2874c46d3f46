module example.com/six-platforms

go 1.16

toolchain go1.16.10
