package e2e

// The deployment files, checked as far as this machine can run them (no Docker engine here):
// the Dockerfile's build stage runs as plain commands, the image's settings (user, entrypoint,
// environment) are read from it, deploy/compose.yaml's services run as processes on loopback
// with that binary and those settings, and the systemd unit passes `systemd-analyze verify`.

import (
	"bufio"
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testetcd"
	"github.com/liveroom/liveroom/internal/testproc"
	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
	"go.yaml.in/yaml/v3"
)

// instr is one Dockerfile instruction: its keyword (upper case) and the rest of its line,
// continuation lines joined.
type instr struct{ op, arg string }

// stage is one FROM ... [AS name] of a Dockerfile.
type stage struct {
	from, name string
	instrs     []instr
}

func readDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if line == "" && (s == "" || strings.HasPrefix(s, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(s, "\\"); ok {
			line += cont + " "
			continue
		}
		line += s
		op, arg, _ := strings.Cut(line, " ")
		op, arg, line = strings.ToUpper(op), strings.TrimSpace(arg), ""
		if op == "FROM" {
			from, name, _ := strings.Cut(arg, " ")
			_, name, _ = strings.Cut(strings.ToLower(name), "as ")
			stages = append(stages, stage{from: from, name: strings.TrimSpace(name)})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", path, op)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, instr{op, arg})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// image is what the final stage of the Dockerfile makes of the build stage's output.
type image struct {
	bin        string   // the built binary, on this host
	entrypoint []string // ENTRYPOINT, exec form
	env        []string // ENV, as KEY=VALUE
	user       string
}

// kv parses an ENV or ARG argument: KEY=VALUE pairs (values without spaces), or KEY VALUE.
func kv(arg string) [][2]string {
	if !strings.Contains(arg, "=") {
		k, v, _ := strings.Cut(arg, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}
	}
	var out [][2]string
	for _, f := range strings.Fields(arg) {
		k, v, _ := strings.Cut(f, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// copyContext copies the build context (the repository) into dst, leaving out what
// .dockerignore names (as Docker reads it: a pattern matches the path from the context's
// root, ** any number of directories).
func copyContext(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var ignore []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ignore = append(ignore, l)
		}
	}
	ignored := func(rel string) bool {
		for _, p := range ignore {
			if ok, _ := filepath.Match(p, rel); ok {
				return true
			}
			if sub, ok := strings.CutPrefix(p, "**/"); ok && (rel == sub || strings.HasSuffix(rel, "/"+sub)) {
				return true
			}
		}
		return false
	}
	err = filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "." {
			return nil
		}
		if ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buildImage runs the Dockerfile's build stage as plain commands on this host: the context is
// copied (minus .dockerignore) into a temporary root standing for the container's /, COPY
// instructions copy within it, each RUN runs with sh in WORKDIR with the ARG and ENV values,
// and the final stage's COPY --from=build takes the binary out. buildArgs override ARG
// defaults, as `docker build --build-arg` does.
func buildImage(t *testing.T, buildArgs map[string]string) image {
	t.Helper()
	stages := readDockerfile(t, "../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" {
		t.Fatal("Dockerfile: the first stage has no name (FROM ... AS build)")
	}
	// The build image's Go must be the one go.mod asks for.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if want == nil || !strings.HasPrefix(build.from, "golang:"+string(want[1])) {
		t.Errorf("Dockerfile builds FROM %s, go.mod asks for go %s", build.from, want)
	}

	root := t.TempDir()
	ctx := filepath.Join(t.TempDir(), "context")
	copyContext(t, "..", ctx)
	inRoot := func(p string) string { return filepath.Join(root, p) }
	vars := map[string]string{}
	env := []string{}
	workdir := "/"
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return vars[k] })
	}
	for _, in := range build.instrs {
		switch in.op {
		case "WORKDIR":
			workdir = filepath.Join(workdir, expand(in.arg))
			if err := os.MkdirAll(inRoot(workdir), 0o755); err != nil {
				t.Fatal(err)
			}
		case "ARG":
			for _, p := range kv(in.arg) {
				vars[p[0]] = p[1]
				if v, ok := buildArgs[p[0]]; ok {
					vars[p[0]] = v
				}
			}
		case "ENV":
			for _, p := range kv(in.arg) {
				vars[p[0]] = expand(p[1])
				env = append(env, p[0]+"="+vars[p[0]])
			}
		case "COPY":
			f := strings.Fields(in.arg)
			dst := f[len(f)-1]
			if !filepath.IsAbs(dst) {
				dst = filepath.Join(workdir, dst)
			}
			for _, src := range f[:len(f)-1] {
				cmd := exec.Command("cp", "-a", filepath.Join(ctx, src)+map[bool]string{true: "/.", false: ""}[strings.HasSuffix(src, "/") || src == "."], inRoot(dst)+"/")
				if err := os.MkdirAll(inRoot(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("COPY %s: %v\n%s", in.arg, err, out)
				}
			}
		case "RUN":
			// Absolute container paths the command writes (the output directory the final
			// stage copies from) live under root; commands and the Go toolchain are this host's.
			cmdline := expand(in.arg)
			for _, fin := range final.instrs {
				if fin.op == "COPY" && strings.HasPrefix(fin.arg, "--from="+build.name+" ") {
					dir := filepath.Dir(strings.Fields(fin.arg)[1])
					cmdline = strings.ReplaceAll(cmdline, " "+dir+"/", " "+inRoot(dir)+"/")
				}
			}
			cmd := exec.Command("sh", "-c", cmdline)
			cmd.Dir = inRoot(workdir)
			cmd.Env = append(os.Environ(), env...)
			t.Logf("RUN %s", cmdline)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("RUN %s: %v\n%s", cmdline, err, out)
			}
		default:
			t.Fatalf("Dockerfile build stage: %s is not run by this test; add it here", in.op)
		}
	}

	img := image{}
	for _, in := range final.instrs {
		switch in.op {
		case "COPY":
			f := strings.Fields(in.arg)
			if len(f) != 3 || f[0] != "--from="+build.name {
				t.Fatalf("final stage: COPY %s: only COPY --from=%s SRC DST is expected", in.arg, build.name)
			}
			img.bin = inRoot(f[1])
			if !strings.HasSuffix(f[2], "/") && img.entrypoint == nil {
				img.entrypoint = []string{f[2]}
			}
		case "USER":
			img.user = in.arg
		case "ENV":
			for _, p := range kv(in.arg) {
				img.env = append(img.env, p[0]+"="+p[1])
			}
		case "ENTRYPOINT":
			var ep []string
			if err := yaml.Unmarshal([]byte(in.arg), &ep); err != nil || len(ep) == 0 {
				t.Fatalf("ENTRYPOINT %s: want the exec form", in.arg)
			}
			if img.entrypoint == nil || img.entrypoint[0] != ep[0] {
				t.Errorf("ENTRYPOINT %s runs something the final stage did not copy in (%v)", ep[0], img.entrypoint)
			}
			img.entrypoint = ep
		}
	}
	if img.bin == "" {
		t.Fatal("the final stage copies no binary from the build stage")
	}
	return img
}

func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	img := buildImage(t, map[string]string{"VERSION": "v9.8.7-test", "REVISION": "0123456789abcdef"})
	f, err := elf.Open(img.bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (program header %v): the distroless static base has no libc", img.bin, p.Type)
		}
	}
	if img.user == "" || img.user == "root" || strings.HasPrefix(img.user, "0") {
		t.Errorf("image runs as %q, want a non-root user", img.user)
	}
	out, err := exec.Command(img.bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "v9.8.7-test") || !strings.Contains(string(out), "0123456789abcdef") {
		t.Errorf("--version of the image's binary = %q, want the build args' version and revision", out)
	}
}

// composeFile is the part of a compose file this test reads.
type composeFile struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
}

// hostPort finds host:port, ws://host:port and :port in flag values and environment values.
var hostPort = regexp.MustCompile(`(^|[/@=,])([A-Za-z0-9.\-]*):(\d+)`)

// interpolate does compose's ${VAR} and ${VAR:?message} from vars; an unset one is an error
// (as compose stops on :?).
func interpolate(t *testing.T, s string, vars map[string]string) string {
	t.Helper()
	return regexp.MustCompile(`\$\{(\w+)(:\?[^}]*)?\}`).ReplaceAllStringFunc(s, func(m string) string {
		k := regexp.MustCompile(`\w+`).FindString(m)
		v, ok := vars[k]
		if !ok {
			t.Fatalf("compose.yaml needs %s, not set by the test", k)
		}
		return v
	})
}

// TestComposeClusterRunsAsProcesses runs deploy/compose.yaml's three liveroomd services as
// processes of the image's binary, with the image's entrypoint and environment and each
// service's command and environment; service names and ports become loopback addresses
// (Redis and etcd are this test's own servers), published ports the address the service
// listens on. The cluster must form (3 members on every node) and carry a load with notices
// to viewers on every node with nothing lost.
func TestComposeClusterRunsAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the image's binary and runs a cluster")
	}
	b, err := os.ReadFile("../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var nodes []string
	for name, s := range cf.Services {
		if s.Build != nil {
			if filepath.Clean(filepath.Join("../deploy", s.Build.Context, s.Build.Dockerfile)) != filepath.Clean("../Dockerfile") {
				t.Errorf("service %s builds %s/%s, not the repository's Dockerfile", name, s.Build.Context, s.Build.Dockerfile)
			}
			nodes = append(nodes, name)
			for _, dep := range []string{"redis", "etcd"} {
				if _, ok := s.DependsOn[dep]; !ok {
					t.Errorf("service %s does not depend on %s", name, dep)
				}
			}
		}
	}
	slices.Sort(nodes)
	if len(nodes) != 3 {
		t.Fatalf("compose.yaml builds %d liveroomd services (%v), want 3", len(nodes), nodes)
	}
	for _, dep := range []string{"redis", "etcd"} {
		if _, ok := cf.Services[dep]; !ok {
			t.Fatalf("compose.yaml has no %s service", dep)
		}
	}

	img := buildImage(t, nil)
	redis, etcd := testredis.StartServer(t), testetcd.StartServer(t)
	redisAddr := strings.TrimPrefix(strings.TrimSuffix(redis.URL, "/0"), "redis://")
	redisAddr, _, _ = strings.Cut(redisAddr, "/")
	local := map[string]string{"redis:6379": redisAddr, "etcd:2379": etcd.Endpoint}
	addrOf := func(service, port string) string {
		k := service + ":" + port
		if a, ok := local[k]; ok {
			return a
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		local[k] = ln.Addr().String()
		return local[k]
	}
	published := map[string]string{} // host port -> service:container port
	for _, name := range nodes {
		for _, p := range cf.Services[name].Ports {
			f := strings.Split(p, ":")
			if len(f) < 2 {
				t.Fatalf("service %s: port %q publishes nothing", name, p)
			}
			if _, dup := published[f[len(f)-2]]; dup {
				t.Fatalf("host port %s published twice", f[len(f)-2])
			}
			published[f[len(f)-2]] = name + ":" + f[len(f)-1]
		}
	}
	rewrite := func(self, s string) string {
		return hostPort.ReplaceAllStringFunc(s, func(m string) string {
			sm := hostPort.FindStringSubmatch(m)
			lead, host, port := sm[1], sm[2], sm[3]
			switch {
			case host == "" || host == "0.0.0.0":
				return lead + addrOf(self, port)
			case cf.Services[host].Image != "" || slices.Contains(nodes, host) || host == "redis" || host == "etcd":
				return lead + addrOf(host, port)
			case host == "127.0.0.1" || host == "localhost":
				if to, ok := published[port]; ok {
					svc, cport, _ := strings.Cut(to, ":")
					return lead + addrOf(svc, cport)
				}
			}
			return m
		})
	}
	secrets := map[string]string{"LIVEROOM_JWT_SECRET": "S", "LIVEROOM_API_KEY": "K", "LIVEROOM_ADMIN_KEY": "A"}
	// This host runs the load from one address; the container's per-address limits would
	// refuse it. They are the only settings the test adds.
	loadFlags := []string{"--conn-per-ip", "100000", "--conn-per-uid", "100000", "--http-rate-per-ip", "-1",
		"--http-conns-per-ip", "-1", "--log-level", "warn"}

	c := &faultCluster{t: t, redis: redis, etcd: etcd}
	admin := map[string]string{}
	logs := t.TempDir()
	for _, name := range nodes {
		s := cf.Services[name]
		var env []string
		for _, kv := range img.env {
			env = append(env, rewrite(name, kv))
		}
		for k, v := range s.Environment {
			env = append(env, k+"="+rewrite(name, interpolate(t, v, secrets)))
		}
		args := slices.Clone(img.entrypoint[1:])
		for _, a := range s.Command {
			args = append(args, rewrite(name, interpolate(t, a, secrets)))
		}
		args = append(args, loadFlags...)
		out, err := os.Create(filepath.Join(logs, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { showLog(t, out) })
		t.Logf("%s: %v %v", name, env, args)
		p := &testproc.Proc{Name: name, Bin: img.bin, Args: args, Out: out, Env: append(os.Environ(), env...)}
		c.nodes = append(c.nodes, &faultNode{name: name, http: addrOf(name, "8080"), proc: testproc.StartProc(t, p)})
		admin[name] = addrOf(name, "9090")
	}
	for _, nd := range c.nodes {
		c.awaitReady(nd, 30*time.Second)
	}
	testwait.For(t, 30*time.Second, "every node to list 3 members on its admin listener", func() bool {
		for _, nd := range c.nodes {
			if metricOf(admin[nd.name], "liveroom_cluster_members") != 3 {
				return false
			}
		}
		return true
	})
	for _, nd := range c.nodes {
		if m := metricOf(nd.http, "liveroom_cluster_members"); m >= 0 {
			t.Errorf("%s serves /metrics on its public port (%v) although the image sets the admin listener", nd.name, m)
		}
	}

	cfg := faultLoad(c, "compose", 8*time.Second)
	res := runFaults(t, cfg, func(time.Time) {})
	checkDelivery(t, res, 2*time.Second)
	for _, nd := range c.nodes {
		if n := metricOf(admin[nd.name], "liveroom_pulls_total"); n <= 0 {
			t.Errorf("%s had no viewer: the load did not reach every node", nd.name)
		}
	}
}

// TestSystemdUnitVerifies checks deploy/liveroomd.service with systemd-analyze verify (with
// ExecStart pointed at a built binary: verify checks the command exists) and runs the unit's
// command line with the configuration file its header shows, as systemd would start it.
func TestSystemdUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile("../deploy/liveroomd.service")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := liveroomdBin()
	if err != nil {
		t.Fatal(err)
	}
	exec1 := regexp.MustCompile(`(?m)^ExecStart=(\S+)(.*)$`).FindSubmatch(unit)
	if exec1 == nil {
		t.Fatal("the unit has no ExecStart")
	}
	dir := t.TempDir()
	local := strings.ReplaceAll(string(unit), "ExecStart="+string(exec1[1]), "ExecStart="+bin)
	if sa, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: the unit is not verified")
	} else {
		verify := func(text string) string {
			p := filepath.Join(dir, "liveroomd.service")
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command(sa, "verify", p).CombinedOutput()
			return strings.TrimSpace(string(out))
		}
		if out := verify(local); out != "" {
			t.Errorf("systemd-analyze verify:\n%s", out)
		}
		// The check can fail: a misspelt setting is reported.
		if out := verify(strings.Replace(local, "ProtectSystem=", "ProtectSystm=", 1)); !strings.Contains(out, "ProtectSystm") {
			t.Errorf("systemd-analyze verify did not report a misspelt key: %q", out)
		}
	}

	// The configuration file the header shows: the `#       name value` lines after its path.
	var conf []string
	sc := bufio.NewScanner(strings.NewReader(string(unit)))
	in := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, "/etc/liveroom/liveroomd.conf") && strings.HasPrefix(l, "#"):
			in = true
		case in && strings.HasPrefix(l, "#       "):
			conf = append(conf, strings.TrimSpace(strings.TrimPrefix(l, "#")))
		case in:
			in = false
		}
	}
	if len(conf) == 0 {
		t.Fatal("the unit's header shows no configuration file")
	}
	redis := testredis.StartServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := ln.Addr().String()
	ln.Close()
	for i, l := range conf {
		k, _, _ := strings.Cut(l, " ")
		switch k {
		case "addr":
			conf[i] = "addr " + addr
		case "admin-addr":
			conf[i] = "admin-addr " + adminAddr
		case "redis":
			conf[i] = "redis " + redis.URL
		}
	}
	confPath := filepath.Join(dir, "liveroomd.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(strings.ReplaceAll(string(exec1[2]), "/etc/liveroom/liveroomd.conf", confPath))
	p := &testproc.Proc{Name: "unit", Bin: bin, Args: args, Out: os.Stderr,
		Env: append(os.Environ(), "LIVEROOM_JWT_SECRET=S", "LIVEROOM_API_KEY=K", "LIVEROOM_ADMIN_KEY=A")}
	proc := testproc.StartProc(t, p)
	nd := &faultNode{name: "unit", http: addr, proc: proc}
	(&faultCluster{t: t}).awaitReady(nd, 20*time.Second)
	if m := metricOf(adminAddr, "liveroom_sessions"); m < 0 {
		t.Errorf("no metrics on the admin listener %s of the unit's configuration", adminAddr)
	}
	stop := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)s$`).FindSubmatch(unit)
	if stop == nil {
		t.Fatal("the unit sets no TimeoutStopSec")
	}
	secs, _ := strconv.Atoi(string(stop[1]))
	took, ok := proc.Term(time.Duration(secs) * time.Second)
	if !ok {
		t.Errorf("SIGTERM: still running after the unit's TimeoutStopSec (%ds)", secs)
	}
	t.Logf("stopped by SIGTERM in %v (TimeoutStopSec %ds)", took.Round(time.Millisecond), secs)
}
