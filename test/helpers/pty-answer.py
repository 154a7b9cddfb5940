#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal (its controlling terminal, so /dev/tty is it); each time
one of the PROMPTs appears in what it writes to the terminal (after the last one answered), type
that prompt's ANSWER and Enter. Prints everything the terminal showed (base64, to stdout) once the
command exits; the command's exit code becomes ours.
Usage: pty-answer.py PROMPT ANSWER [PROMPT ANSWER...] -- COMMAND ARGS..."""
import base64, os, pty, select, sys, time

def main():
    split = sys.argv.index('--')
    pairs = sys.argv[1:split]
    pending = [(pairs[i].encode(), pairs[i + 1].encode()) for i in range(0, len(pairs), 2)]
    cmd = sys.argv[split + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen, searched_from, deadline = b'', 0, time.time() + 60
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        for i, (prompt, answer) in enumerate(pending):
            at = seen.find(prompt, searched_from)
            if at != -1:
                time.sleep(0.2)  # the reader switches echo off right after writing the prompt
                os.write(fd, answer + b'\r')
                searched_from = at + len(prompt)
                del pending[i]
                break
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(base64.b64encode(seen).decode() + '\n')
    sys.exit(os.waitstatus_to_exitcode(status))

main()
