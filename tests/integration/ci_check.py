#!/usr/bin/python3
"""ci_check.py DBSHIFT FILE...: each CI example parses as YAML (python3-yaml),
and every dbshift command line in its run: and script: steps names a command
and options that exist (as 'dbshift help' and 'dbshift help COMMAND' list
them).  Prints "ok: N dbshift commands" or each problem; exits 0 or 1."""
import re
import shlex
import subprocess
import sys

import yaml

GLOBAL_WITH_VALUE = {"--database", "--dir", "--env", "--config", "--lock-wait"}
SEPARATORS = {";", "&&", "||", "|", ">", "<", ">>", "(", ")", "then", "do", "&"}


def shell_texts(node):
    """The shell of every run:, script: and before_script: in node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "before_script"):
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from shell_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from shell_texts(item)


def invocations(text):
    """The words of each dbshift command in a shell text."""
    for line in re.sub(r"\\\n", " ", str(text)).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        for i, word in enumerate(words):
            if word == "dbshift":
                args = []
                for w in words[i + 1:]:
                    if w in SEPARATORS:
                        break
                    args.append(w)
                yield args


def main():
    dbshift, files = sys.argv[1], sys.argv[2:]
    top = subprocess.run([dbshift, "help"], capture_output=True, text=True).stdout
    commands = set(re.findall(r"^  ([a-z]+)\b", top, re.M))
    globals_ = set(re.findall(r"(--[a-z-]+)", top.split("\noptions:")[-1]))
    problems, count = [], 0
    for path in files:
        try:
            with open(path) as f:
                doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            problems.append("%s: not YAML: %s" % (path, e))
            continue
        for text in shell_texts(doc):
            for args in invocations(text):
                count += 1
                i = 0
                while i < len(args) and args[i].startswith("-"):
                    if args[i] not in globals_ and args[i] not in ("-q", "-v"):
                        problems.append("%s: unknown global option %s" % (path, args[i]))
                    i += 2 if args[i] in GLOBAL_WITH_VALUE else 1
                if i == len(args) or args[i] not in commands:
                    problems.append("%s: dbshift %s: no such command" % (path, " ".join(args)))
                    continue
                cmd = args[i]
                own = subprocess.run([dbshift, "help", cmd], capture_output=True,
                                     text=True).stdout
                known = set(re.findall(r"(--[a-z-]+)", own)) | globals_
                for w in args[i + 1:]:
                    flag = w.split("=")[0]
                    if flag.startswith("--") and flag not in known:
                        problems.append("%s: dbshift %s: no option %s" % (path, cmd, flag))
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d dbshift commands" % count)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
