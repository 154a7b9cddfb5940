#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal (its controlling terminal, so /dev/tty is it), wait for
PROMPT in what it writes to the terminal, type ANSWER and Enter, and print everything the terminal
showed (base64, to stdout) once the command exits; the command's exit code becomes ours.
Usage: pty-answer.py PROMPT ANSWER -- COMMAND ARGS..."""
import base64, os, pty, select, sys, time

def main():
    prompt, answer = sys.argv[1].encode(), sys.argv[2].encode()
    cmd = sys.argv[sys.argv.index('--') + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen, answered, deadline = b'', False, time.time() + 60
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
        if not answered and prompt in seen:
            time.sleep(0.2)  # the reader switches echo off right after writing the prompt
            os.write(fd, answer + b'\r')
            answered = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(base64.b64encode(seen).decode() + '\n')
    sys.exit(os.waitstatus_to_exitcode(status))

main()
