// Command gotpl evaluates the differential corpus of tests/test_gotemplate_go.py with the real
// Go libraries Argo CD's ApplicationSet controller uses: text/template with
// Option("missingkey=error") and sprig's function map less the functions Argo CD deletes
// (env, expandenv, getHostByName), plus Argo CD's `normalize`; and time.ParseDuration.
//
// Input on stdin: a JSON list of cases, each {"template": T, "data": D} or {"duration": S}.
// Output on stdout: a JSON list of results, one per case, in order:
// {"output": S} or {"error": E, "phase": "parse"|"execute"} for a template, and
// {"ns": N} or {"error": E} for a duration.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"
)

type testCase struct {
	Template *string        `json:"template"`
	Data     map[string]any `json:"data"`
	Duration *string        `json:"duration"`
}

type result struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
	Phase  string  `json:"phase,omitempty"`
	Ns     *int64  `json:"ns,omitempty"`
}

var invalidDNSNameChars = regexp.MustCompile("[^-a-z0-9.]")

// normalize is Argo CD's SanitizeName: lower case, DNS-1123 characters, at most 253 bytes.
func normalize(name string) string {
	name = invalidDNSNameChars.ReplaceAllString(strings.ToLower(name), "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

func funcs() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	m["normalize"] = normalize
	return m
}

func evaluate(c testCase, fm template.FuncMap) result {
	if c.Duration != nil {
		d, err := time.ParseDuration(*c.Duration)
		if err != nil {
			msg := err.Error()
			return result{Error: &msg}
		}
		ns := int64(d)
		return result{Ns: &ns}
	}
	// Argo CD names every template "base" (applicationset/utils: baseTemplate).
	t, err := template.New("base").Funcs(fm).Option("missingkey=error").Parse(*c.Template)
	if err != nil {
		msg := err.Error()
		return result{Error: &msg, Phase: "parse"}
	}
	var out bytes.Buffer
	if err := t.Execute(&out, c.Data); err != nil {
		msg := err.Error()
		return result{Error: &msg, Phase: "execute"}
	}
	text := out.String()
	return result{Output: &text}
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		os.Stderr.WriteString("gotpl: " + err.Error() + "\n")
		os.Exit(2)
	}
	fm := funcs()
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		results = append(results, evaluate(c, fm))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(results); err != nil {
		os.Stderr.WriteString("gotpl: " + err.Error() + "\n")
		os.Exit(2)
	}
}
