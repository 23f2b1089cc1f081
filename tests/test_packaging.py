"""Cases for packaging: what another project gets from an installed leakwatch.

Each case installs the build tree ($LEAKWATCH_BUILD) into a fresh temporary
prefix with `cmake --install --prefix`, then uses it the way a user would:
find_package(leakwatch) with examples/consumer, pkg-config, the header alone
(with and without LD_PRELOAD), the man page and the installed command. The
temporary prefix is removed afterwards.

The library's directory under the prefix depends on how the build was
configured (lib, or lib/<multiarch> for a /usr build), so it is looked up,
not assumed.
"""
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import tempfile

from lwtest import BUILD, SOURCE, check_schema

CONSUMER = SOURCE / "examples" / "consumer"
NO_LEAK_C = CONSUMER / "test_no_leak.c"
LEAK_C = CONSUMER / "test_leak.c"
TIMEOUT = 30


def clean_env(**extra):
    """The environment without anything leakwatch-related from the caller."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "LD_LIBRARY_PATH", "LEAKWATCH_OPTIONS", "LEAKWATCH_LIB",
                        "PKG_CONFIG_PATH", "CMAKE_PREFIX_PATH", "MAKEFLAGS")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sh(argv, env=None, cwd=None, check=True, timeout=TIMEOUT):
    """Run argv; return the CompletedProcess (text). check: status must be 0."""
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.run(argv, env=env if env is not None else clean_env(), cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{argv} did not finish in {timeout} s; stderr: {e.stderr!r}")
    if check:
        assert proc.returncode == 0, (
            f"{argv} exited {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc


def describe(proc):
    return f"status {proc.returncode}\nstdout: {proc.stdout[-2000:]!r}\nstderr: {proc.stderr[-3000:]!r}"


def project_version():
    cache = (BUILD / "CMakeCache.txt").read_text()
    m = re.search(r"^CMAKE_PROJECT_VERSION:\w+=(.+)$", cache, re.M)
    assert m, "no CMAKE_PROJECT_VERSION in the build's CMakeCache.txt"
    return m.group(1).strip()


class Prefix:
    """leakwatch installed into a temporary prefix."""

    def __init__(self):
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="lwpkg-"))
        self.prefix = self.root / "prefix"
        self.work = self.root / "work"
        self.work.mkdir()
        sh(["cmake", "--install", BUILD, "--prefix", self.prefix])
        libs = sorted(self.prefix.glob("lib*/**/libleakwatch.so"))
        assert len(libs) == 1, f"expected one libleakwatch.so under {self.prefix}, found {libs}"
        self.lib = libs[0]
        self.libdir = self.lib.parent
        self.pkgconfig = self.libdir / "pkgconfig"
        self.include = self.prefix / "include"
        self.command = self.prefix / "bin" / "leakwatch"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def pkg_config(self, *args, pkgconfig=None):
        env = clean_env(PKG_CONFIG_PATH=pkgconfig or self.pkgconfig)
        return sh(["pkg-config", *args, "leakwatch"], env=env).stdout.strip()

    def compile(self, source, name, flags):
        """gcc SOURCE -o WORK/NAME FLAGS; returns the binary's path."""
        out = self.work / name
        cc = shutil.which("gcc") or shutil.which("cc")
        assert cc, "no C compiler"
        sh([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", out, source, *flags])
        return out


def run_binary(path, env=None, **extra_env):
    return sh([path], env=env or clean_env(**extra_env), check=False)


def output_value(proc, key):
    """The integer printed as KEY=N on the program's stdout."""
    m = re.search(rf"^(?:.* )?{key}=(-?\d+)", proc.stdout, re.M)
    assert m, f"no {key}= in output; {describe(proc)}"
    return int(m.group(1))


def assert_active(proc, active, status=0):
    assert output_value(proc, "active") == active, describe(proc)
    assert proc.returncode == status, describe(proc)


def assert_leak_found(proc):
    """test_leak under leakwatch, with exitcode=0: verify_none found the worker."""
    assert output_value(proc, "active") == 1, describe(proc)
    assert output_value(proc, "leaked") == 1, describe(proc)
    assert proc.returncode == 1, describe(proc)  # the program's own status
    assert "thread_leak" in proc.stderr, describe(proc)


def maps_library(proc):
    """The libleakwatch.so a `cat /proc/self/maps` run had mapped."""
    paths = {line.split()[-1] for line in proc.stdout.splitlines()
             if re.search(r"/libleakwatch\.so[.0-9]*$", line)}
    assert len(paths) == 1, f"libleakwatch.so mapped {len(paths)} times; {describe(proc)}"
    return pathlib.Path(paths.pop()).resolve()


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def test_installed_layout():
    """Everything a user gets is installed where SPEC section 1 says, and the
    CMake package does not pass the library's private dependencies on."""
    with Prefix() as p:
        version = project_version()
        assert p.lib.is_symlink() or p.lib.is_file()
        assert (p.include / "leakwatch.h").is_file()
        assert os.access(p.command, os.X_OK), p.command
        assert p.command.read_bytes() == (SOURCE / "scripts" / "leakwatch").read_bytes()
        assert (p.pkgconfig / "leakwatch.pc").is_file()
        cmake_dir = p.libdir / "cmake" / "leakwatch"
        for name in ("leakwatchConfig.cmake", "leakwatchConfigVersion.cmake", "leakwatchTargets.cmake"):
            assert (cmake_dir / name).is_file(), name
        assert (p.prefix / "share" / "man" / "man1" / "leakwatch.1").is_file()
        assert (p.libdir / f"libleakwatch.so.{version}").is_file()
        # Only the library and its include directory are exported: libunwind,
        # libdw, pthread are the shared library's private business.
        targets = "".join(f.read_text() for f in cmake_dir.glob("leakwatchTargets*.cmake"))
        assert "leakwatch::leakwatch" in targets
        assert "INTERFACE_LINK_LIBRARIES" not in targets, targets
        for private in ("unwind", "libdw", "PkgConfig::", "Threads::", "uthash"):
            assert private not in targets, (private, targets)
        for pc_word in ("unwind", "-ldw", "Requires"):
            assert pc_word not in (p.pkgconfig / "leakwatch.pc").read_text(), pc_word
        # Shipped suppression files, when the source tree has some.
        shipped = sorted(f.name for f in (SOURCE / "suppressions").glob("*.supp"))
        installed_dir = p.prefix / "share" / "leakwatch" / "suppressions"
        installed = sorted(f.name for f in installed_dir.glob("*")) if installed_dir.exists() else []
        assert installed == shipped, (installed, shipped)


def test_cmake_find_package():
    """examples/consumer finds the installed package with find_package and
    links leakwatch::leakwatch: the header's calls go to the library."""
    with Prefix() as p:
        build = p.work / "consumer"
        configure = sh(["cmake", "-S", CONSUMER, "-B", build,
                        f"-DCMAKE_PREFIX_PATH={p.prefix}",
                        "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF",
                        "-DCMAKE_BUILD_TYPE=Debug"])
        cache = (build / "CMakeCache.txt").read_text()
        found = re.search(r"^leakwatch_DIR:PATH=(.*)$", cache, re.M)
        assert found and pathlib.Path(found.group(1)).resolve().is_relative_to(p.prefix.resolve()), \
            (found and found.group(1), configure.stdout)
        sh(["cmake", "--build", build, "-j2"], timeout=60)

        no_leak = run_binary(build / "test_no_leak")
        assert_active(no_leak, 1, status=0)
        assert output_value(no_leak, "leaked") == 0, describe(no_leak)
        assert "leakwatch:" not in no_leak.stderr, describe(no_leak)

        # The consumer's own tests, including the run under ${leakwatch_COMMAND}.
        ctest = sh(["ctest", "--output-on-failure"], cwd=build, check=False, timeout=60)
        assert ctest.returncode == 0, describe(ctest)
        assert "no_leak_under_command" in ctest.stdout, describe(ctest)

        # A newer major version than the installed one is not compatible.
        probe = p.work / "probe"
        probe.mkdir()
        (probe / "CMakeLists.txt").write_text(
            "cmake_minimum_required(VERSION 3.16)\nproject(probe C)  # C: so lib/<multiarch> is searched too\n"
            "find_package(leakwatch 999 QUIET)\n"
            "message(STATUS \"found=${leakwatch_FOUND}\")\n"
            "find_package(leakwatch REQUIRED)\n"
            "message(STATUS \"version=${leakwatch_VERSION} command=${leakwatch_COMMAND}"
            " library=${leakwatch_LIBRARY}\")\n")
        out = sh(["cmake", "-S", probe, "-B", probe / "b", f"-DCMAKE_PREFIX_PATH={p.prefix}",
                  "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"]).stdout
        assert "found=0" in out, out
        assert f"version={project_version()} " in out, out
        assert f"command={p.command} " in out, out
        assert f"library={p.libdir}/libleakwatch.so" in out, out


def test_cmake_linked_leak_found():
    """Linked through find_package: verify_none reports a leaked blocked worker."""
    with Prefix() as p:
        build = p.work / "consumer"
        sh(["cmake", "-S", CONSUMER, "-B", build, f"-DCMAKE_PREFIX_PATH={p.prefix}",
            "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"])
        sh(["cmake", "--build", build, "-j2", "--target", "test_leak"], timeout=60)
        proc = run_binary(build / "test_leak", LEAKWATCH_OPTIONS="exitcode=0")
        assert_leak_found(proc)
        # With the default exitcode too, the program's own status: its
        # verify call reported the leak, which is not counted again at exit.
        proc = run_binary(build / "test_leak")
        assert proc.returncode == 1, describe(proc)


def test_pkg_config():
    """cc test_no_leak.c $(pkg-config --cflags --libs leakwatch): linked."""
    with Prefix() as p:
        assert p.pkg_config("--modversion") == project_version()
        flags = shlex.split(p.pkg_config("--cflags", "--libs"))
        assert "-lleakwatch" in flags, flags
        for private in ("unwind", "-ldw", "-lelf"):
            assert not any(private in f for f in flags), flags
        binary = p.compile(NO_LEAK_C, "no_leak", flags)
        needed = sh(["readelf", "-d", binary]).stdout if shutil.which("readelf") else "libleakwatch.so"
        assert "libleakwatch.so" in needed, needed
        libdir = p.pkg_config("--variable=libdir")
        assert pathlib.Path(libdir).resolve() == p.libdir.resolve(), (libdir, p.libdir)
        proc = run_binary(binary, LD_LIBRARY_PATH=libdir)
        assert_active(proc, 1, status=0)
        assert output_value(proc, "leaked") == 0, describe(proc)

        # The .pc file is relative to itself: a moved prefix still works.
        moved = p.root / "moved"
        p.prefix.rename(moved)
        pkgconfig = moved / p.pkgconfig.relative_to(p.prefix)
        flags = shlex.split(p.pkg_config("--cflags", "--libs", pkgconfig=pkgconfig))
        include = [f[2:] for f in flags if f.startswith("-I")]
        assert include and pathlib.Path(include[0]).resolve() == (moved / "include").resolve(), flags


def test_pkg_config_linked_leak_found():
    """Linked through pkg-config: verify_none returns 1 for a blocked worker."""
    with Prefix() as p:
        binary = p.compile(LEAK_C, "leak", shlex.split(p.pkg_config("--cflags", "--libs")))
        proc = run_binary(binary, LD_LIBRARY_PATH=p.libdir, LEAKWATCH_OPTIONS="exitcode=0")
        assert_leak_found(proc)


# Uses only the header: no pthread call of its own that would tie it to the
# library. Threads started through std::thread or another library look the
# same to the linker.
API_ONLY_C = r"""
#include <stdio.h>
#include <leakwatch.h>
int main(void) {
  printf("active=%d\n", leakwatch_active());
  return leakwatch_verify_none(100);
}
"""


def test_linked_api_only():
    """Linked (pkg-config or find_package) but referring to the library only
    through the header's weak symbols: the link keeps it anyway, even where
    the toolchain passes --as-needed, so active=1 rather than a silent 0."""
    with Prefix() as p:
        source = p.work / "api_only.c"
        source.write_text(API_ONLY_C)
        for as_needed in ([], ["-Wl,--as-needed"]):
            binary = p.compile(source, "api_only", as_needed + shlex.split(p.pkg_config("--cflags", "--libs")))
            proc = run_binary(binary, LD_LIBRARY_PATH=p.libdir)
            assert_active(proc, 1, status=0)

        project = p.work / "api_only_cmake"
        project.mkdir()
        (project / "CMakeLists.txt").write_text(
            "cmake_minimum_required(VERSION 3.16)\nproject(api_only C)\n"
            "find_package(leakwatch REQUIRED)\n"
            "add_executable(api_only ../api_only.c)\n"
            "target_link_options(api_only PRIVATE -Wl,--as-needed)\n"
            "target_link_libraries(api_only PRIVATE leakwatch::leakwatch)\n")
        sh(["cmake", "-S", project, "-B", project / "b", f"-DCMAKE_PREFIX_PATH={p.prefix}",
            "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"])
        sh(["cmake", "--build", project / "b", "-j2"], timeout=60)
        proc = run_binary(project / "b" / "api_only")
        assert_active(proc, 1, status=0)


def test_header_only():
    """Compiled with just -I: no-op mode without the library (active=0,
    exit 0), the real thing with LD_PRELOAD (active=1)."""
    with Prefix() as p:
        binary = p.compile(NO_LEAK_C, "no_leak_header_only", [f"-I{p.include}"])
        if shutil.which("readelf"):
            assert "libleakwatch" not in sh(["readelf", "-d", binary]).stdout
        proc = run_binary(binary)
        assert_active(proc, 0, status=0)
        assert output_value(proc, "leaked") == 0, describe(proc)
        proc = run_binary(binary, LD_PRELOAD=p.lib)
        assert_active(proc, 1, status=0)
        assert output_value(proc, "leaked") == 0, describe(proc)
        assert "leakwatch:" not in proc.stderr, describe(proc)


def test_header_only_leak_found():
    """The leaking variant, header only: unseen without the library (it
    cannot look), found with LD_PRELOAD."""
    with Prefix() as p:
        binary = p.compile(LEAK_C, "leak_header_only", [f"-I{p.include}"])
        proc = run_binary(binary)
        assert_active(proc, 0, status=0)
        assert output_value(proc, "leaked") == 0, describe(proc)
        proc = run_binary(binary, LD_PRELOAD=p.lib, LEAKWATCH_OPTIONS="exitcode=0")
        assert_leak_found(proc)


def test_man_page():
    """leakwatch(1) is installed and renders."""
    with Prefix() as p:
        page = p.prefix / "share" / "man" / "man1" / "leakwatch.1"
        assert page.is_file(), page
        text = page.read_text()
        assert re.search(r"^\.TH LEAKWATCH 1 ", text, re.M), text[:300]
        man = shutil.which("man")
        if not man:
            return  # man-db not installed: the file check above is all we can do
        env = clean_env(MANPAGER="cat", PAGER="cat", MANWIDTH="80", LANG="C.UTF-8")
        for argv in ([man, "-l", page], [man, "-M", p.prefix / "share" / "man", "leakwatch"]):
            proc = sh(argv, env=env)
            assert re.search(r"^LEAKWATCH\(1\)", proc.stdout, re.M), describe(proc)
            for section in ("NAME", "SYNOPSIS"):
                assert re.search(rf"^{section}$", proc.stdout, re.M), (section, describe(proc))
            assert "leakwatch run" in proc.stdout or "run" in proc.stdout, describe(proc)


def test_installed_command():
    """PREFIX/bin/leakwatch run finds PREFIX's library by itself and reports."""
    with Prefix() as p:
        leaky = p.compile(LEAK_C, "leaky", [f"-I{p.include}"])
        # Which library it preloads: the installed one, not the build tree's.
        maps = sh([p.command, "run", "--", "cat", "/proc/self/maps"])
        assert maps_library(maps).is_relative_to(p.prefix.resolve()), describe(maps)

        report = p.work / "report.json"
        proc = sh([p.command, "run", "--json", report, "--", leaky], check=False)
        # Its verify call reported the leak (not again at exit), and it
        # fails on its own: its status.
        assert proc.returncode == 1, describe(proc)
        assert output_value(proc, "active") == 1, describe(proc)
        assert "thread_leak" in proc.stderr, describe(proc)
        data = json.loads(report.read_text())
        check_schema(data)
        # The exit report does not repeat what the verify call reported:
        # the thread is there, blocked, and no finding names it.
        assert data["findings"] == [], data["findings"]
        assert any(t.get("state") == "blocked" for t in data["threads"]), data["threads"]

        clean = p.compile(NO_LEAK_C, "clean", [f"-I{p.include}"])
        proc = sh([p.command, "run", "--", clean], check=False)
        assert_active(proc, 1, status=0)


def test_installed_command_package():
    """The command's Python package is installed beside the command
    (share/leakwatch/python), with the tables generated from the C side,
    and the installed command uses it with no build tree to fall back on."""
    with Prefix() as p:
        package = p.prefix / "share" / "leakwatch" / "python" / "leakwatch"
        built = BUILD / "python" / "leakwatch"
        names = sorted(f.name for f in built.glob("*.py"))
        assert "_constants.py" in names and "cli.py" in names and "sarif.py" in names, names
        assert sorted(f.name for f in package.iterdir()) == names, sorted(package.iterdir())
        for name in names:
            assert (package / name).read_bytes() == (built / name).read_bytes(), name
        env = {k: v for k, v in clean_env().items() if not k.startswith("LEAKWATCH_")}
        proc = sh([p.command, "--version"], env=env)
        assert proc.stdout == f"leakwatch {project_version()}\n", describe(proc)
        report = p.work / "report.json"
        report.write_text(json.dumps({
            "schema": "leakwatch-report/1", "trigger": "exit", "pid": 1, "exe": "/bin/x",
            "time": "2026-12-05T12:00:00Z", "suppressed": 0, "threads": [], "findings": [
                {"kind": "thread_leak", "threads": [], "count": 1, "message": "T1 leaked",
                 "location": {"pc": "0x1", "function": "f", "offset": 1, "module": "/bin/x",
                              "file": str(p.work / "x.c"), "line": 3}}]}))
        proc = sh([p.command, "report", "--format", "sarif", "--srcroot", p.work, report], env=env)
        result = json.loads(proc.stdout)["runs"][0]["results"][0]
        assert result["ruleId"] == "thread_leak", result
        assert result["locations"][0]["physicalLocation"]["artifactLocation"] == \
            {"uri": "x.c", "uriBaseId": "SRCROOT"}, result
        # A symbolic link to the command (/usr/local/bin/leakwatch -> ...) works too.
        link = p.work / "leakwatch"
        link.symlink_to(p.command)
        proc = sh([link, "report", report], env=env)
        assert "thread_leak: T1 leaked" in proc.stdout, describe(proc)


def test_build_tree_command():
    """The build tree has the command next to libleakwatch.so, a current copy
    of scripts/leakwatch, and it uses that library."""
    command = BUILD / "leakwatch"
    assert command.is_file(), f"{command} missing: CMake copies scripts/leakwatch there"
    assert os.access(command, os.X_OK), command
    assert command.read_bytes() == (SOURCE / "scripts" / "leakwatch").read_bytes(), \
        "build/leakwatch is stale: re-run cmake"
    maps = sh([command, "run", "--", "cat", "/proc/self/maps"])
    assert maps_library(maps) == (BUILD / "libleakwatch.so").resolve(), describe(maps)


def test_pkg_config_binary_runs_from_a_prefix_without_library_path():
    """A prefix outside /usr: pkg-config's Libs carry the libdir as the run
    path, so the program starts with no LD_LIBRARY_PATH (it used to fail
    with 'libleakwatch.so.0: cannot open shared object file')."""
    with Prefix() as p:
        flags = shlex.split(p.pkg_config("--cflags", "--libs"))
        assert f"-Wl,-rpath,{p.pkg_config('--variable=libdir')}" in flags, flags
        binary = p.compile(NO_LEAK_C, "no_leak_rpath", flags)
        proc = run_binary(binary)
        assert_active(proc, 1, status=0)


def test_debian_package():
    """cpack -G DEB from a /usr build with the tests off: the package has
    the library under the multiarch libdir, the command, the header, the
    pkg-config and CMake files, the man page and the suppressions, depends
    on the Debian libraries the shim uses, and a consumer extracted next to
    it builds with pkg-config and with find_package."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="lwdeb-"))
    try:
        build = root / "build"
        sh(["cmake", "-S", SOURCE, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DCMAKE_INSTALL_PREFIX=/usr", "-DLEAKWATCH_BUILD_TESTS=OFF"], timeout=120)
        sh(["cmake", "--build", build, "-j2"], timeout=300)
        # The tool only: no test program, example or benchmark was built.
        assert not (build / "tests").exists() and not (build / "bench").exists()
        sh(["cpack", "-G", "DEB"], cwd=build, timeout=120)
        (deb,) = build.glob(f"leakwatch_{project_version()}_*.deb")
        info = sh(["dpkg-deb", "--field", deb, "Depends"]).stdout
        for dependency in ("libunwind8", "libdw1", "python3", "libc6"):
            assert dependency in info, info
        system = root / "system"  # a chroot-like directory
        sh(["dpkg-deb", "-x", deb, system])
        multiarch = sh(["gcc", "-print-multiarch"]).stdout.strip() or "x86_64-linux-gnu"
        libdir = system / "usr" / "lib" / multiarch
        for path in (libdir / "libleakwatch.so", libdir / "libleakwatch.so.0",
                     libdir / "pkgconfig" / "leakwatch.pc",
                     libdir / "cmake" / "leakwatch" / "leakwatchConfig.cmake",
                     system / "usr" / "bin" / "leakwatch", system / "usr" / "include" / "leakwatch.h",
                     system / "usr" / "share" / "man" / "man1" / "leakwatch.1",
                     system / "usr" / "share" / "leakwatch" / "suppressions" / "glib.supp",
                     system / "usr" / "share" / "leakwatch" / "python" / "leakwatch" / "cli.py",
                     system / "usr" / "share" / "leakwatch" / "python" / "leakwatch" / "_constants.py"):
            assert path.exists(), path
        # /usr is the loader's own: no run path in the package's Libs.
        pc_env = clean_env(PKG_CONFIG_PATH=libdir / "pkgconfig")
        flags = shlex.split(sh(["pkg-config", "--cflags", "--libs", "leakwatch"], env=pc_env).stdout)
        assert not any("rpath" in f for f in flags), flags
        work = root / "work"
        work.mkdir()
        binary = work / "no_leak"
        sh(["gcc", "-std=c11", "-pthread", "-o", binary, NO_LEAK_C, *flags])
        assert_active(run_binary(binary, LD_LIBRARY_PATH=libdir), 1, status=0)
        consumer = work / "consumer"
        sh(["cmake", "-S", CONSUMER, "-B", consumer, f"-DCMAKE_PREFIX_PATH={system / 'usr'}",
            "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"], timeout=120)
        sh(["cmake", "--build", consumer, "-j2", "--target", "test_no_leak"], timeout=120)
        assert_active(run_binary(consumer / "test_no_leak", LD_LIBRARY_PATH=libdir), 1, status=0)
        # The packaged command finds the packaged library next to it.
        proc = sh([system / "usr" / "bin" / "leakwatch", "run", "--", "true"], check=False)
        assert proc.returncode == 0, describe(proc)
        # ... and its own package (no build tree to fall back on).
        env = {k: v for k, v in clean_env().items() if not k.startswith("LEAKWATCH_")}
        proc = sh([system / "usr" / "bin" / "leakwatch", "--version"], env=env)
        assert proc.stdout == f"leakwatch {project_version()}\n", describe(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
