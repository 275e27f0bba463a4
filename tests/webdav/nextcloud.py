#!/usr/bin/env python3
"""A fake Nextcloud WebDAV endpoint for the webdav plugin's tests, answering as Nextcloud 28 does
(its PROPFIND answers: d: and oc: namespaces, oc:fileid, oc:permissions, quoted ETags, folders
with ETags and sizes, hrefs escaped as rawurlencode does).

Serves the folder ROOT:
  /remote.php/dav/files/USER/...   Basic auth USER:PASSWORD
  /public.php/webdav/...           a public share: Basic auth TOKEN:SHARE_PASSWORD
  /old/...                         301 to /remote.php/dav/files/USER/... (a moved server)
The file id is the inode number, so a file renamed on disk keeps its id, as in Nextcloud.
Every request is one line on stderr; GET bytes sent are counted in STATE/sent (for tests).

usage: nextcloud.py ROOT STATE USER PASSWORD TOKEN SHARE_PASSWORD
"""
import base64
import email.utils
import hashlib
import http.server
import os
import socket
import sys
import urllib.parse
from xml.sax.saxutils import escape

ROOT, STATE, USER, PASSWORD, TOKEN, SHARE_PASSWORD = sys.argv[1:7]
FILES = "/remote.php/dav/files/" + USER + "/"
SHARE = "/public.php/webdav/"


def etag(info):
    return '"' + hashlib.md5(f"{info.st_mtime_ns}-{info.st_size}-{info.st_ino}".encode()).hexdigest()[:13] + '"'


def response(href, path):
    info = os.stat(path)
    folder = os.path.isdir(path)
    props = [
        "<d:getlastmodified>%s</d:getlastmodified>" % email.utils.formatdate(info.st_mtime, usegmt=True),
        "<d:getetag>&quot;%s&quot;</d:getetag>" % etag(info).strip('"'),
        "<oc:fileid>%d</oc:fileid>" % info.st_ino,
        "<oc:permissions>%s</oc:permissions>" % ("RGDNVCK" if folder else "RGDNVW"),
    ]
    if folder:
        props.append("<d:resourcetype><d:collection/></d:resourcetype>")
        missing = "<d:getcontentlength/>"
    else:
        props.append("<d:resourcetype/>")
        props.append("<d:getcontentlength>%d</d:getcontentlength>" % info.st_size)
        missing = ""
    out = "<d:response><d:href>%s</d:href><d:propstat><d:prop>%s</d:prop>" \
          "<d:status>HTTP/1.1 200 OK</d:status></d:propstat>" % (escape(href), "".join(props))
    if missing:
        out += "<d:propstat><d:prop>%s</d:prop><d:status>HTTP/1.1 404 Not Found</d:status>" \
               "</d:propstat>" % missing
    return out + "</d:response>"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))
        sys.stderr.flush()

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def place(self):
        """(prefix, local path) for the request, or None after answering it."""
        path = urllib.parse.unquote(self.path.split("?")[0])
        if path.startswith("/old/"):
            self.reply(301, headers=[("Location", "http://%s%s%s" % (
                self.headers["Host"], FILES, self.path[len("/old/"):]))])
            return None
        for prefix, user, password in ((FILES, USER, PASSWORD), (SHARE, TOKEN, SHARE_PASSWORD)):
            if path.startswith(prefix) or path + "/" == prefix:
                expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.reply(401, b"", [("WWW-Authenticate", 'Basic realm="Nextcloud"')])
                    return None
                local = os.path.join(ROOT, path[len(prefix):])
                if not os.path.exists(local):
                    self.reply(404, b"<?xml version=\"1.0\"?><d:error xmlns:d=\"DAV:\"/>")
                    return None
                return prefix, path[len(prefix):], local
        self.reply(404)
        return None

    def do_PROPFIND(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        found = self.place()
        if found is None:
            return
        prefix, relative, local = found
        quote = lambda p: urllib.parse.quote(p, safe="/")
        parts = [response(quote(prefix + relative), local)]
        if os.path.isdir(local) and self.headers.get("Depth", "1") != "0":
            base = relative if relative.endswith("/") or relative == "" else relative + "/"
            for name in sorted(os.listdir(local)):
                child = os.path.join(local, name)
                href = quote(prefix + base + name) + ("/" if os.path.isdir(child) else "")
                parts.append(response(href, child))
        body = ('<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"'
                ' xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">'
                + "".join(parts) + "</d:multistatus>").encode()
        self.reply(207, body, [("Content-Type", "application/xml; charset=utf-8")])

    def do_GET(self):
        found = self.place()
        if found is None:
            return
        _, _, local = found
        if os.path.isdir(local):
            self.reply(501)
            return
        with open(local, "rb") as f:
            data = f.read()
        info = os.stat(local)
        with open(os.path.join(STATE, "sent"), "a") as log:
            log.write("%d\n" % len(data))
        self.reply(200, data, [("ETag", etag(info)),
                               ("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True))])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
server.serve_forever()
