#!/usr/bin/env python3
"""The install tests (ctest label install; registered by tests/install.cmake).

usage: check_install.py OPTIONS tree
       check_install.py OPTIONS find-package --url URL
       check_install.py OPTIONS pkg-config --url URL
       check_install.py OPTIONS deb --url URL

  tree          `cmake --install BUILD --prefix WORK/prefix`, then checks what is there: the
                libraries (librtws.so.VERSION with SONAME librtws.so.SOVERSION, its two links,
                librtws.a), rtws.h with the version, the pkg-config files and the CMake package.
  find-package  configures and builds tests/consumer (CMakeLists.txt: find_package(rtws
                CONFIG), rtws::rtws and rtws::rtws_static) against WORK/prefix, runs the four
                programs (C, C++; shared, static) against URL (an echo server).
  pkg-config    compiles consumer.c and consumer.cpp with `pkg-config --cflags --libs rtws`
                (shared) and `rtws-static` (static) against WORK/prefix and runs them.
  deb           `cpack -G DEB`, then checks the package's fields and file list, installs it
                into a throw-away root with `dpkg --root` (or extracts it, when dpkg cannot),
                checks the layout there, builds tests/consumer against it and runs the
                programs. Exits with 77 (skipped) when dpkg-deb is not installed.

Each command works in a directory of its own under WORK, made afresh, and removes it when
it passes (left for a look when it fails; WORK/prefix stays for the other tests). The
shared programs must load the installed librtws.so.SOVERSION, the static ones no librtws.
Python stdlib only; the paths and tools come from CMake (tests/install.cmake).
"""
import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


class Failure(Exception):
    pass


def log(msg):
    print(f"check_install: {msg}", flush=True)


def run(cmd, env=None, cwd=None, capture=False, timeout=600):
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, timeout=timeout,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None,
                            text=True, errors="replace", stdin=subprocess.DEVNULL)
    if capture:
        sys.stdout.write(result.stdout)
    if result.returncode != 0:
        raise Failure(f"{os.path.basename(str(cmd[0]))} exited with status {result.returncode}")
    return result.stdout if capture else ""


def output(cmd, env=None):
    """stdout of a quiet command (raises Failure on a non-zero status)."""
    result = subprocess.run([str(c) for c in cmd], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise Failure(f"{' '.join(map(str, cmd))} failed: {result.stderr.strip()}")
    return result.stdout


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def check(condition, message):
    if not condition:
        raise Failure(message)


def source_headers(args):
    """The headers the install copies: include/**/*.h and *.hpp, relative to include/."""
    top = os.path.join(args.source_dir, "include")
    return sorted(os.path.relpath(os.path.join(d, f), top).replace(os.sep, "/")
                  for d, _, files in os.walk(top) for f in files if f.endswith((".h", ".hpp")))


def dynamic_section(path):
    """(SONAME, [NEEDED...]) from `readelf -d`, or None without readelf."""
    if not shutil.which("readelf"):
        log("readelf not found (binutils): ELF checks skipped")
        return None
    text = output(["readelf", "-d", path])
    soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", text)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", text)
    return (soname.group(1) if soname else None, needed)


def check_layout(args, prefix, stripped=False):
    """The installed files under prefix, as cmake/install.cmake lists them."""
    lib = os.path.join(prefix, args.libdir)
    v, so = args.version, args.soversion
    real = os.path.join(lib, f"librtws.so.{v}")
    check(os.path.isfile(real) and not os.path.islink(real), f"{real} is not a file")
    for link, target in ((f"librtws.so.{so}", f"librtws.so.{v}"),
                         ("librtws.so", f"librtws.so.{so}")):
        path = os.path.join(lib, link)
        check(os.path.islink(path) and os.readlink(path) == target,
              f"{path} is not a link to {target}")
    check(os.path.isfile(os.path.join(lib, "librtws.a")), "librtws.a is missing")
    header = os.path.join(prefix, "include", "rtws.h")
    with open(header, encoding="utf-8") as f:
        text = f.read()
    check(f'#define RTWS_VERSION_STRING "{v}"' in text, f"{header} is not version {v}")
    for name in source_headers(args):
        check(os.path.isfile(os.path.join(prefix, "include", name)), f"include/{name} missing")
    for pc in ("rtws.pc", "rtws-static.pc"):
        path = os.path.join(lib, "pkgconfig", pc)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        check(f"\nVersion: {v}\n" in text, f"{path} is not version {v}")
    cmake_dir = os.path.join(lib, "cmake", "rtws")
    check(os.path.isfile(os.path.join(cmake_dir, "rtwsConfig.cmake")), "rtwsConfig.cmake missing")
    with open(os.path.join(cmake_dir, "rtwsConfigVersion.cmake"), encoding="utf-8") as f:
        check(f'set(PACKAGE_VERSION "{v}")' in f.read(), "rtwsConfigVersion.cmake: wrong version")
    elf = dynamic_section(real)
    if elf:
        check(elf[0] == f"librtws.so.{so}", f"{real}: SONAME {elf[0]}, not librtws.so.{so}")
        log(f"SONAME {elf[0]}")
    if stripped and shutil.which("readelf"):
        sections = output(["readelf", "-S", "-W", real])
        check(".debug_info" not in sections, f"{real} still has debug information")
    log(f"layout under {prefix}: ok")


def run_programs(args, programs, prefix):
    """Runs each program against the echo server; checks what librtws each one loads."""
    for exe, static in programs:
        elf = dynamic_section(exe)
        if elf:
            rtws = [n for n in elf[1] if n.startswith("librtws")]
            if static:
                check(not rtws, f"{exe} is linked statically, yet needs {rtws}")
            else:
                check(rtws == [f"librtws.so.{args.soversion}"],
                      f"{exe} needs {rtws}, not librtws.so.{args.soversion}")
        if not static and shutil.which("ldd"):
            # It must load the installed library (through its RUNPATH), not another one.
            loaded = output(["ldd", exe])
            want = os.path.realpath(os.path.join(prefix, args.libdir))
            found = re.search(r"librtws\.so\S* => (\S+)", loaded)
            check(found and os.path.realpath(os.path.dirname(found.group(1))) == want,
                  f"{exe} loads {found.group(1) if found else 'no librtws'}, not the one in {want}")
        run([exe, args.url], timeout=60)
        log(f"{os.path.basename(exe)}: ok")


def build_with_cmake(args, prefix, build):
    """Configures and builds tests/consumer against prefix (find_package(rtws CONFIG))."""
    out = run([args.cmake, "-S", HERE, "-B", build, "-G", args.generator,
               "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_C_COMPILER={args.cc}",
               f"-DCMAKE_CXX_COMPILER={args.cxx}", f"-DCMAKE_PREFIX_PATH={prefix}",
               # Only the prefix under test: not an rtws installed on this machine.
               "-DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF", "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"],
              capture=True)
    want = os.path.join(prefix, args.libdir, "cmake", "rtws")
    check(f"rtws {args.version} from {want}" in out, f"find_package did not find rtws in {want}")
    run([args.cmake, "--build", build, "--parallel", "2"])
    return [(os.path.join(build, name), name.endswith("_static"))
            for name in ("consumer_c", "consumer_cpp", "consumer_c_static", "consumer_cpp_static")]


def prefix_dir(args):
    return os.path.join(args.work_dir, "prefix")


def cmd_tree(args):
    prefix = prefix_dir(args)
    shutil.rmtree(prefix, ignore_errors=True)
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix])
    check_layout(args, prefix)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, args.libdir, "pkgconfig"))
    if args.pkg_config:
        for pc in ("rtws", "rtws-static"):
            version = output([args.pkg_config, "--modversion", pc], env=env).strip()
            check(version == args.version, f"pkg-config --modversion {pc}: {version}")
            value = output([args.pkg_config, "--variable=prefix", pc], env=env).strip()
            check(value == prefix, f"{pc}.pc: prefix={value}, not {prefix}")
    log("tree: ok")


def cmd_find_package(args):
    prefix = prefix_dir(args)
    build = fresh_dir(os.path.join(args.work_dir, "find-package"))
    run_programs(args, build_with_cmake(args, prefix, build), prefix)
    shutil.rmtree(build)
    log("find-package: ok")


def cmd_pkg_config(args):
    check(args.pkg_config, "pkg-config not found (.ci/run installs it)")
    prefix = prefix_dir(args)
    build = fresh_dir(os.path.join(args.work_dir, "pkg-config"))
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, args.libdir, "pkgconfig"))
    shared = shlex.split(output([args.pkg_config, "--cflags", "--libs", "rtws"], env=env))
    static = shlex.split(output([args.pkg_config, "--cflags", "--libs", "rtws-static"], env=env))
    libdir = output([args.pkg_config, "--variable=libdir", "rtws"], env=env).strip()
    rpath = [f"-Wl,-rpath,{libdir}"]
    programs = []
    for compiler, source, std in ((args.cc, "consumer.c", "-std=c99"),
                                  (args.cxx, "consumer.cpp", "-std=c++11")):
        for kind, flags in (("shared", shared + rpath), ("static", static)):
            exe = os.path.join(build, f"{os.path.splitext(source)[0]}_{kind}")
            run([compiler, std, "-Wall", "-Wextra", "-Werror", "-o", exe,
                 os.path.join(HERE, source), *flags])
            programs.append((exe, kind == "static"))
    run_programs(args, programs, prefix)
    shutil.rmtree(build)
    log("pkg-config: ok")


def deb_files(deb):
    """The files and links of a .deb: {path: link target or None}, paths without './'."""
    entries = {}
    for line in output(["dpkg-deb", "-c", deb]).splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or fields[0].startswith("d"):
            continue
        name = fields[5]
        target = None
        if fields[0].startswith("l"):
            name, target = name.split(" -> ", 1)
        entries[name[2:] if name.startswith("./") else name] = target
    return entries


def install_into_root(deb, root):
    """dpkg --root into a fresh, empty dpkg database (no maintainer scripts run there: the
    package has none; the ldconfig trigger only concerns the real system). Returns how."""
    admin = os.path.join(root, "var", "lib", "dpkg")
    for sub in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, sub), exist_ok=True)
    open(os.path.join(admin, "status"), "w").close()
    open(os.path.join(admin, "available"), "w").close()
    dpkg = shutil.which("dpkg")
    if dpkg:
        result = subprocess.run(
            [dpkg, f"--root={root}", "--force-not-root", "--force-depends",
             "--force-script-chrootless", "--log=/dev/null", "--no-triggers", "-i", deb],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL)
        print(result.stdout, end="")
        if result.returncode == 0:
            status = output([dpkg, f"--root={root}", "--force-not-root", "-s", "rtws"])
            check("Status: install ok installed" in status, "dpkg does not list rtws installed")
            return "dpkg --root"
        log("dpkg --root failed: extracting the package instead")
    run(["dpkg-deb", "-x", deb, root])
    return "dpkg-deb -x"


def cmd_deb(args):
    if not shutil.which("dpkg-deb"):
        print("check_install: skipped: dpkg-deb not found (not a Debian-based system)")
        return SKIP
    work = fresh_dir(os.path.join(args.work_dir, "deb"))
    run([args.cpack, "-G", "DEB", "--config", os.path.join(args.build_dir, "CPackConfig.cmake"),
         "-B", work])
    debs = glob.glob(os.path.join(work, f"rtws_{args.version}_*.deb"))
    check(len(debs) == 1, f"cpack made {debs}, not one rtws_{args.version}_<arch>.deb")
    deb = debs[0]
    log(f"{os.path.basename(deb)}: {os.path.getsize(deb) // 1024} KiB")
    fields = output(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends"])
    print(fields, end="")
    check("Package: rtws\n" in fields and f"Version: {args.version}\n" in fields,
          "wrong Package or Version")
    shlibs = output(["dpkg-deb", "--info", deb, "shlibs"])
    check(f"librtws {args.soversion} rtws" in shlibs, f"no shlibs line for librtws: {shlibs}")

    v, so, lib = args.version, args.soversion, f"usr/{args.libdir}"
    want = {f"{lib}/librtws.so.{v}": None, f"{lib}/librtws.so.{so}": f"librtws.so.{v}",
            f"{lib}/librtws.so": f"librtws.so.{so}", f"{lib}/librtws.a": None,
            f"{lib}/pkgconfig/rtws.pc": None, f"{lib}/pkgconfig/rtws-static.pc": None,
            f"{lib}/cmake/rtws/rtwsConfig.cmake": None,
            f"{lib}/cmake/rtws/rtwsConfigVersion.cmake": None}
    for name in source_headers(args):
        want[f"usr/include/{name}"] = None
    have = deb_files(deb)
    check(have == want, "the package's files differ:\n  missing: "
          f"{sorted(set(want.items()) - set(have.items()))}\n  unexpected: "
          f"{sorted(set(have.items()) - set(want.items()))}")
    log("file list: ok")

    root = os.path.join(work, "root")
    how = install_into_root(deb, root)
    log(f"installed into {root} ({how})")
    prefix = os.path.join(root, "usr")
    check_layout(args, prefix, stripped=True)
    with open(os.path.join(prefix, args.libdir, "pkgconfig", "rtws.pc"), encoding="utf-8") as f:
        check(f.read().startswith("prefix=/usr\n"), "rtws.pc in the package: prefix is not /usr")
    build = os.path.join(work, "consumer")
    run_programs(args, build_with_cmake(args, prefix, build), prefix)
    shutil.rmtree(work)
    log("deb: ok")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["tree", "find-package", "pkg-config", "deb"])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(HERE)))
    parser.add_argument("--cmake", required=True)
    parser.add_argument("--cpack", required=True)
    parser.add_argument("--generator", required=True)
    parser.add_argument("--cc", required=True)
    parser.add_argument("--cxx", required=True)
    parser.add_argument("--pkg-config", default="")
    parser.add_argument("--version", required=True)
    parser.add_argument("--soversion", required=True)
    parser.add_argument("--libdir", default="lib")
    parser.add_argument("--url", help="an echo server: ws://127.0.0.1:PORT/echo")
    args = parser.parse_args()
    if args.pkg_config.endswith("-NOTFOUND"):
        args.pkg_config = ""
    if args.command != "tree" and not args.url:
        parser.error(f"{args.command} needs --url")
    os.makedirs(args.work_dir, exist_ok=True)
    command = {"tree": cmd_tree, "find-package": cmd_find_package,
               "pkg-config": cmd_pkg_config, "deb": cmd_deb}[args.command]
    try:
        return command(args) or 0
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"check_install: FAIL: {e}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
