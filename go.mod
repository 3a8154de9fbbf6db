module github.com/unmirror/unmirror

go 1.26

require (
	github.com/dgryski/go-farm v0.0.0-20240924180020-3414d57e47da
	github.com/golang/snappy v0.0.4
	github.com/stretchr/testify v1.11.1
	github.com/wamuir/graft v0.10.0
	google.golang.org/protobuf v1.36.10
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
