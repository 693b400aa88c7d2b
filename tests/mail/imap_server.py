"""A minimal IMAP4rev1 server on 127.0.0.1 for the tests: one user, folders in memory.

Speaks what ``meaculpa mail fetch`` uses: CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN,
UID FETCH (BODY.PEEK[] / RFC822), UID STORE +FLAGS, UID COPY, EXPUNGE, NOOP, LOGOUT.
"""

from __future__ import annotations

import re
import shlex
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailstore:
    user: str = "quejas@olivar.example"
    password: str = "s3cret pass"
    folders: dict[str, list[StoredMail]] = field(default_factory=lambda: {"INBOX": []})
    next_uid: int = 1
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes, folder: str = "INBOX", flags: set[str] | None = None) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.folders.setdefault(folder, []).append(StoredMail(uid, raw, set(flags or ())))
            return uid

    def find(self, folder: str, uid: int) -> StoredMail | None:
        return next((m for m in self.folders.get(folder, []) if m.uid == uid), None)


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = "\\"
    lexer.escapedquotes = '"'
    lexer.quotes = '"'
    return list(lexer)


class _Handler(socketserver.StreamRequestHandler):
    store: Mailstore

    def send(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        store = self.server.store  # type: ignore[attr-defined]
        selected: str | None = None
        authed = False
        self.send("* OK IMAP4rev1 test server ready")
        while True:
            line_bytes = self.rfile.readline()
            if not line_bytes:
                return
            line = line_bytes.decode("utf-8", "replace").rstrip("\r\n")
            store.commands.append(line)
            tag, _, rest = line.partition(" ")
            name, _, args = rest.partition(" ")
            name = name.upper()
            if name == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
                self.send(f"{tag} OK CAPABILITY completed")
            elif name == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif name == "LOGOUT":
                self.send("* BYE bye")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif name == "LOGIN":
                user, password = _words(args)[:2]
                if user == store.user and password == store.password:
                    authed = True
                    self.send(f"{tag} OK LOGIN completed")
                else:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
            elif not authed:
                self.send(f"{tag} BAD not authenticated")
            elif name == "SELECT":
                folder = _words(args)[0]
                if folder not in store.folders:
                    self.send(f"{tag} NO no such folder")
                    continue
                selected = folder
                self.send(f"* {len(store.folders[folder])} EXISTS")
                self.send("* 0 RECENT")
                self.send("* FLAGS (\\Seen \\Deleted \\Flagged)")
                self.send("* OK [UIDVALIDITY 1] ok")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
            elif selected is None:
                self.send(f"{tag} BAD no folder selected")
            elif name == "EXPUNGE":
                with store.lock:
                    mails = store.folders[selected]
                    gone = [i for i, m in enumerate(mails, start=1) if "\\Deleted" in m.flags]
                    for seq in reversed(gone):  # highest first: the numbers stay valid
                        self.send(f"* {seq} EXPUNGE")
                    store.folders[selected] = [m for m in mails if "\\Deleted" not in m.flags]
                self.send(f"{tag} OK EXPUNGE completed")
            elif name == "UID":
                self.uid_command(store, selected, tag, args)
            else:
                self.send(f"{tag} BAD unknown command {name}")

    def uid_command(self, store: Mailstore, folder: str, tag: str, args: str) -> None:
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        mails = store.folders[folder]
        if sub == "SEARCH":
            if rest.strip().upper() != "UNSEEN":
                self.send(f"{tag} BAD only UNSEEN is supported")
                return
            uids = [str(m.uid) for m in mails if "\\Seen" not in m.flags]
            self.send("* SEARCH" + "".join(f" {u}" for u in uids))
            self.send(f"{tag} OK SEARCH completed")
            return
        uid_text, _, rest = rest.partition(" ")
        mail = store.find(folder, int(uid_text))
        if mail is None:
            self.send(f"{tag} OK nothing matched")
            return
        seq = mails.index(mail) + 1
        if sub == "FETCH":
            what = rest.upper()
            peek = "BODY.PEEK[]" in what
            if not peek and "RFC822" not in what and "BODY[]" not in what:
                self.send(f"{tag} BAD only full bodies are supported")
                return
            item = "RFC822" if "RFC822" in what and not peek else "BODY[]"
            if not peek:
                mail.flags.add("\\Seen")
            self.wfile.write(
                f"* {seq} FETCH (UID {mail.uid} {item} {{{len(mail.raw)}}}\r\n".encode()
            )
            self.wfile.write(mail.raw)
            self.wfile.write(b")\r\n")
            self.send(f"{tag} OK FETCH completed")
        elif sub == "STORE":
            match = re.match(r"([+-]?)FLAGS(?:\.SILENT)?\s+\((.*)\)", rest, re.IGNORECASE)
            if not match:
                self.send(f"{tag} BAD bad STORE")
                return
            flags = set(match.group(2).split())
            if match.group(1) == "-":
                mail.flags -= flags
            else:
                mail.flags |= flags
            self.send(f"* {seq} FETCH (UID {mail.uid} FLAGS ({' '.join(sorted(mail.flags))}))")
            self.send(f"{tag} OK STORE completed")
        elif sub == "COPY":
            target = _words(rest)[0]
            if target not in store.folders:
                self.send(f"{tag} NO [TRYCREATE] no such folder")
                return
            store.add(mail.raw, target, mail.flags)
            self.send(f"{tag} OK COPY completed")
        else:
            self.send(f"{tag} BAD unknown UID command {sub}")


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: Mailstore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = store

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
