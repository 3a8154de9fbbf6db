package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readme returns README.md next to this file.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeBlocks returns the contents of the fenced code blocks of a Markdown
// text, in order.
func codeBlocks(md string) []string {
	var out []string
	parts := strings.Split(md, "\n```")
	for i := 1; i < len(parts); i += 2 {
		_, body, _ := strings.Cut(parts[i], "\n") // drop the info string
		out = append(out, body)
	}
	return out
}

// TestREADMEInstall runs the README's install command as a user with a
// clone does, at the top of the repository, and runs what it installed.
func TestREADMEInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command once more")
	}
	var install []string
	for _, b := range codeBlocks(readme(t)) {
		if f := strings.Fields(b); len(f) > 2 && f[0] == "go" && f[1] == "install" {
			install = f
			break
		}
	}
	if install == nil {
		t.Fatal("README.md has no code block with a go install command")
	}
	bin := t.TempDir()
	cmd := exec.Command(install[0], install[1:]...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(install, " "), err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "unmirror"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "unmirror ") {
		t.Errorf("installed unmirror --version: %v\n%s", err, out)
	}
}
