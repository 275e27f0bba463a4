#!/usr/bin/env python3
"""A fake Moodle 4.5 web-service server for the tests of kitovu's moodle plugin, answering as the
answers recorded from a real Moodle 4.5 site (../shared/moodle-4.5/ when this was written) do.

Usage: server.py --fixture FILE --port-file FILE [--port N]

Binds 127.0.0.1 (port N, default 0: a free port), writes the port number to --port-file
(atomically: temporary file + rename), serves until SIGTERM or SIGINT and exits 0. One line per
request goes to stderr, with every token replaced by ***. The fixture is read again on every
request, so a test changes what is served by rewriting the file (atomically) while it runs.

Endpoints, as real Moodle answers them:
  POST or GET /webservice/rest/server.php   wstoken, wsfunction, moodlewsrestformat=json and
      the function's arguments, form-encoded (POST) or in the query (GET; both are merged, the
      body wins). HTTP 200 with JSON exception objects for errors, except with web services
      disabled ("webservices": false): HTTP 403 with an empty body. Without
      moodlewsrestformat=json the answer is Moodle's XML (what a client that forgets it gets).
      Functions: core_webservice_get_site_info, core_enrol_get_users_courses (userid),
      core_course_get_contents (courseid).
  GET /webservice/pluginfile.php/...?token=T[&forcedownload=1]   file downloads.
  GET /__stats          {"rest_calls", "rest_functions", "downloads", "download_paths"}
  POST /__reset_stats   zeroes the counters.
  Anything else: 404, text/plain.

Fixture (JSON):
{
  "token": "...",                 the only token accepted (wstoken for REST, token for files)
  "functions": [...],             optional: the functions the service offers (default: all
                                  three); another implemented one gives accessexception
  "rest_delay_ms": 0,             optional: a pause before every REST answer
  "webservices": true,            false: web services disabled on the site (REST: HTTP 403,
                                  empty body; downloads: accessexception)
  "mobile_service": true,         false: the mobile web service disabled (or the user may not
                                  use it): every function, core_webservice_get_site_info too,
                                  answers accessexception
  "site_host": "localhost",       optional: the site's own host name (Moodle's wwwroot); a
                                  request for another one gets Moodle's HTTP 303 to it (with
                                  the path, no query), and siteurl names it
  "moved_to": "https://...",      optional: every request gets HTTP 301 to this base + the
                                  path, as a web server redirecting http to https answers
  "site": {"sitename", "username", "firstname", "lastname", "fullname", "userid", ...}
                                  merged over the defaults of core_webservice_get_site_info
                                  (any field may be overridden, e.g. "downloadfiles": 0)
  "courses": [{
      "id": 2, "shortname": "SE1", "fullname": "...",
      "enrolled": true,           false: not listed for the user, contents give
                                  errorcoursecontextnotvalid
      "suspended": false,         true: listed (an enrolment that is not active), but contents
                                  give errorcoursecontextnotvalid
      "format": "topics",         "weeks": unnamed sections are named by their week's dates
      ...                         any other field overrides core_enrol_get_users_courses' default
      "sections": [{              served by core_course_get_contents as they are, with defaults
          "id": 10, "section": 0, "name": "General",      for missing keys (visible 1,
          "modules": [{                                   summary "", uservisible true, ...)
              "id": 101, "name": "...", "instance": 1, "contextid": 201, "modname": "resource",
              "contents": [{"type": "file", "filename", "filepath", "filesize", "fileurl",
                            "timecreated", "timemodified", "sortorder", "mimetype", ...}]
          }]                       module defaults (url, modicon, modplural, visible,
      }]                           contentsinfo, ...) are added for missing keys; a module
  }],                              without "contents" (forum, label) is served without it
  Names are given as the teacher typed them; the server sends course, section and module names
  through Moodle's format_string (tags stripped, "&" escaped as "&amp;"). An unnamed section is
  "General" (section 0), "New section" (topics) or "D Month - D Month" (weeks). A module may
  have (as Moodle 4.5 answers):
    "availabilityinfo": "Available from <strong>...</strong>"   restricted: uservisible false,
                                  no contents
    "hidden": true                absent from the answer
    modname "subsection" with "section": {"name", "modules": [...]}: served as an empty module
                                  plus a section numbered after all regular ones, with
                                  component "mod_subsection" and itemid = the module's instance
  A url module's content gets the file name Moodle derives from the escaped module name
  (clean_param PARAM_FILE: "Links & Tools" -> "Links amp; Tools") unless it has one.
  "files": {                      pluginfile.php downloads, keyed by URL path (no query)
      "/webservice/pluginfile.php/201/mod_resource/content/1/Slides%2001.pdf": {
          "text": "...",          the body, UTF-8; or
          "repeat": "abc", "size": N,   "abc" repeated and cut to N bytes;
          "mimetype": "application/pdf",        Content-Type (default application/octet-stream)
          "error": {...},         instead of a body: this JSON object, HTTP 404 for errorcode
                                  filenotfound, else 200 (Moodle's way of failing a download)
          "status": 200,          optional: another HTTP status for the body
          "header_delay_ms": 0,   optional: a pause before the status line
          "delay_ms": 0,          optional: a pause after the headers, before the body
          "truncate_at": N        optional: the connection is closed after N bytes of the body
                                  (Content-Length still announces the whole body)
      }
  }
}
A content's "fileurl" that starts with "/" is served with this server's base URL in front
(http://127.0.0.1:PORT/...); other fileurls (a url module's https://... link) unchanged. A
content without "filesize" gets the size of its body in "files". Requested paths are matched
against the keys of "files" after percent-decoding both. Real Moodle reports filesize 0 for a
page module's index.html while the download has a body (an HTML fragment, served as
text/html;charset=UTF-8); the fixture does the same.
"""

import argparse
import copy
import json
import os
import re
import signal
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

REST_PATH = "/webservice/rest/server.php"
FILE_PREFIX = "/webservice/pluginfile.php/"
RELEASE = "4.5 (Build: 20241007)"
VERSION = "2024100700.00"
THEME_REV = 1700000000
FUNCTIONS = (
    "core_webservice_get_site_info",
    "core_enrol_get_users_courses",
    "core_course_get_contents",
)
MODPLURAL = {
    "resource": "Files",
    "folder": "Folders",
    "page": "Pages",
    "url": "URLs",
    "forum": "Forums",
    "label": "Text and media areas",
    "assign": "Assignments",
    "quiz": "Quizzes",
    "subsection": "Subsections",
}
TAG = re.compile(r"<[^>]*>")
BARE_AMPERSAND = re.compile(r"&(?!#?\w+;)")
NOT_IN_FILE_NAMES = re.compile(r"[\x00-\x1f\x7f&<>\"`|':\\/]")
TOKEN_IN_TEXT = re.compile(r"((?:ws)?token=)[^&\s]*", re.IGNORECASE)


class MoodleError(Exception):
    """An exception as Moodle's REST server reports it."""

    def __init__(self, exception, errorcode, message):
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message

    def as_json(self):
        return {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}


MOODLE_EXCEPTION = "core\\exception\\moodle_exception"


def invalid_token():
    return MoodleError(MOODLE_EXCEPTION, "invalidtoken", "Invalid token - token not found")


def access_exception():
    return MoodleError("webservice_access_exception", "accessexception", "Access control exception")


def course_not_accessible(courseid):
    return MoodleError(
        MOODLE_EXCEPTION,
        "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{courseid}). The "
        "context error message was: Course or activity not accessible.",
    )


def format_string(text):
    """A name as Moodle's format_string sends it: tags stripped, bare "&" as "&amp;"."""
    return BARE_AMPERSAND.sub("&amp;", TAG.sub("", text or ""))


def file_name_of(text):
    """clean_param(PARAM_FILE), which Moodle applies to a url module's escaped name."""
    return NOT_IN_FILE_NAMES.sub("", text)


def week_name(startdate, number):
    """The default name of section `number` of a weeks-format course starting at `startdate`."""
    first = datetime.fromtimestamp(startdate, timezone.utc).date() + timedelta(weeks=number - 1)
    last = first + timedelta(days=6)
    return f"{first.day} {first:%B} - {last.day} {last:%B}"


def invalid_parameter():
    return MoodleError(
        "invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected"
    )


def missing_record(table):
    return MoodleError(
        "dml_missing_record_exception",
        "invalidrecord",
        f"Can't find data record in database table {table}.",
    )


def php_json(value):
    """JSON as PHP's json_encode writes it: compact, \\uXXXX escapes, slashes escaped."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def xml_escape(text):
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def php_xml_value(value):
    """A value in the XML of Moodle's REST server (webservice/rest/locallib.php)."""
    if isinstance(value, dict):
        keys = "".join(
            f'<KEY name="{xml_escape(str(k))}">{php_xml_value(v)}</KEY>\n' for k, v in value.items()
        )
        return f"\n<SINGLE>\n{keys}</SINGLE>\n"
    if isinstance(value, list):
        return "\n<MULTIPLE>\n" + "".join(php_xml_value(v).strip("\n") + "\n" for v in value) + (
            "</MULTIPLE>\n"
        )
    if value is None:
        return '<VALUE null="null"/>'
    if isinstance(value, bool):
        value = int(value)
    return f"<VALUE>{xml_escape(str(value))}</VALUE>\n"


def php_xml(value):
    return '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>' + php_xml_value(value) + (
        "</RESPONSE>\n"
    )


def php_xml_exception(error):
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        f'<EXCEPTION class="{xml_escape(error.exception)}">\n'
        f"<ERRORCODE>{xml_escape(error.errorcode)}</ERRORCODE>\n"
        f"<MESSAGE>{xml_escape(error.message)}</MESSAGE>\n"
        "</EXCEPTION>\n"
    )


def body_of(entry):
    """The bytes a "files" entry serves (None for an error entry)."""
    if "text" in entry:
        return entry["text"].encode("utf-8")
    if "repeat" in entry:
        unit = entry["repeat"].encode("utf-8") or b"\0"
        size = int(entry["size"])
        return (unit * (size // len(unit) + 1))[:size]
    return None


def integer_argument(params, name):
    if name not in params:
        raise invalid_parameter()
    try:
        return int(params[name].strip())
    except ValueError:
        raise invalid_parameter() from None


class Stats:
    """Requests counted for the tests (GET /__stats)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.rest_calls = 0
        self.rest_functions = []
        self.downloads = 0
        self.download_paths = []

    def as_json(self):
        with self.lock:
            return {
                "rest_calls": self.rest_calls,
                "rest_functions": list(self.rest_functions),
                "downloads": self.downloads,
                "download_paths": list(self.download_paths),
            }


class Moodle:
    """What the server answers, from the fixture as it is at the moment of a request."""

    def __init__(self, fixture, base):
        self.fixture = fixture
        self.base = base  # http://127.0.0.1:PORT, no trailing slash

    def absolute(self, url):
        return self.base + url if isinstance(url, str) and url.startswith("/") else url

    def files(self):
        return {unquote(path): entry for path, entry in self.fixture.get("files", {}).items()}

    def functions(self):
        return self.fixture.get("functions", list(FUNCTIONS))

    def courses(self):
        return self.fixture.get("courses", [])

    def call(self, function, params):
        if function not in FUNCTIONS:
            raise missing_record("external_functions")
        if not self.fixture.get("mobile_service", True) or function not in self.functions():
            raise access_exception()
        return getattr(self, function)(params)

    def core_webservice_get_site_info(self, _params):
        site = self.fixture.get("site", {})
        info = {
            "sitename": "Moodle",
            "username": "student",
            "firstname": "",
            "lastname": "",
            "fullname": "",
            "lang": "en",
            "userid": 2,
            "siteurl": self.base,
            "limitconcurrentlogins": 0,
            "policyagreed": 1,
            "userpictureurl": f"{self.base}/theme/image.php/boost/core/{THEME_REV}/u/f1",
            "functions": [{"name": name, "version": VERSION} for name in self.functions()],
            "downloadfiles": 1,
            "uploadfiles": 1,
            "release": RELEASE,
            "version": VERSION,
            "mobilecssurl": "",
            "advancedfeatures": [
                {"name": "usecomments", "value": 1},
                {"name": "usetags", "value": 1},
                {"name": "enablenotes", "value": 1},
                {"name": "messaging", "value": 1},
                {"name": "enableblogs", "value": 1},
                {"name": "enablecompletion", "value": 1},
                {"name": "enablebadges", "value": 1},
                {"name": "mnet_dispatcher_mode", "value": 0},
            ],
            "usercanmanageownfiles": True,
            "userquota": 104857600,
            "usermaxuploadfilesize": 104857600,
            "userhomepage": 1,
            "userprivateaccesskey": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "siteid": 1,
            "sitecalendartype": "gregorian",
            "usercalendartype": "gregorian",
            "userissiteadmin": False,
            "theme": "boost",
        }
        info.update(site)
        info["siteurl"] = self.absolute(info["siteurl"])
        return info

    def core_enrol_get_users_courses(self, params):
        userid = integer_argument(params, "userid")
        if userid != self.fixture.get("site", {}).get("userid", 2):
            raise MoodleError(
                "required_capability_exception",
                "nopermissions",
                "Sorry, but you do not currently have permissions to do that (View participants).",
            )
        courses = []
        for course in self.courses():
            if not course.get("enrolled", True):
                continue
            record = {
                "id": course["id"],
                "shortname": "",
                "fullname": "",
                "displayname": course.get("fullname", ""),
                "courseimage": f"{self.base}/course/generated/{course['id']}.svg",
                "enrolledusercount": 25,
                "idnumber": "",
                "visible": 1,
                "summary": "",
                "summaryformat": 1,
                "format": "topics",
                "showgrades": True,
                "lang": "",
                "enablecompletion": False,
                "completionhascriteria": False,
                "completionusertracked": False,
                "category": 1,
                "progress": None,
                "completed": None,
                "startdate": 1693785600,
                "enddate": 0,
                "marker": 0,
                "lastaccess": None,
                "isfavourite": False,
                "hidden": False,
                "overviewfiles": [],
                "showactivitydates": True,
                "showcompletionconditions": False,
                "timemodified": 1699000000,
            }
            record.update(
                {k: v for k, v in course.items() if k not in ("enrolled", "suspended", "sections")}
            )
            for key in ("fullname", "displayname", "shortname"):
                record[key] = format_string(record[key])
            courses.append(record)
        return courses

    def core_course_get_contents(self, params):
        courseid = integer_argument(params, "courseid")
        course = next((c for c in self.courses() if c.get("id") == courseid), None)
        if course is None:
            raise missing_record("course")
        if not course.get("enrolled", True) or course.get("suspended", False):
            raise course_not_accessible(courseid)
        sizes = {path: body_of(entry) for path, entry in self.files().items()}
        regular = course.get("sections", [])
        sections = [self.section(s, course, sizes) for s in regular]
        # Moodle 4.5 numbers the sections of subsections after all regular ones.
        number = max((s.get("section", 0) for s in regular), default=-1)
        for fixture_section in regular:
            for fixture_module in fixture_section.get("modules", []):
                if fixture_module.get("modname") != "subsection" or fixture_module.get("hidden"):
                    continue
                number += 1
                inner = dict(fixture_module.get("section", {}))
                inner.setdefault("id", fixture_module.get("id", 0) + 10000)
                inner.setdefault("name", fixture_module.get("name", ""))
                inner["section"] = number
                inner["component"] = "mod_subsection"
                inner["itemid"] = fixture_module.get("instance", 1)
                sections.append(self.section(inner, course, sizes))
        return sections

    def section(self, fixture_section, course, sizes):
        section = {
            "id": 0,
            "name": "",
            "visible": 1,
            "summary": "",
            "summaryformat": 1,
            "section": 0,
            "hiddenbynumsections": 0,
            "uservisible": True,
            "component": None,
            "itemid": None,
        }
        section.update(copy.deepcopy(fixture_section))
        if not section["name"]:
            if section["section"] == 0:
                section["name"] = "General"
            elif course.get("format") == "weeks":
                section["name"] = week_name(course.get("startdate", 1693785600), section["section"])
            else:
                section["name"] = "New section"
        section["name"] = format_string(section["name"])
        section["modules"] = [
            self.module(m, sizes) for m in section.get("modules", []) if not m.get("hidden")
        ]
        return section

    def module(self, fixture_module, sizes):
        modname = fixture_module.get("modname", "resource")
        cmid = fixture_module.get("id", 0)
        module = {
            "id": cmid,
            "url": f"{self.base}/mod/{modname}/view.php?id={cmid}",
            "name": "",
            "instance": 1,
            "contextid": cmid + 100,
            "visible": 1,
            "uservisible": True,
            "visibleoncoursepage": 1,
            "modicon": f"{self.base}/theme/image.php/boost/{modname}/{THEME_REV}/monologo",
            "modname": modname,
            "purpose": "content",
            "branded": False,
            "modplural": MODPLURAL.get(modname, modname.capitalize() + "s"),
            "indent": 0,
            "onclick": "",
            "afterlink": None,
            "customdata": '""',
            "noviewlink": False,
            "completion": 0,
            "downloadcontent": 1,
            "dates": [],
            "groupmode": 0,
        }
        if modname == "label":
            del module["url"]
            module["noviewlink"] = True
        if modname == "subsection":
            del module["url"]
        module.update(copy.deepcopy(fixture_module))
        module.pop("section", None)
        module["name"] = format_string(module["name"])
        if modname == "subsection":
            inner = fixture_module.get("section", {})
            module["customdata"] = json.dumps(
                {"sectionid": str(inner.get("id", cmid + 10000))}, separators=(",", ":")
            )
        if module.get("availabilityinfo"):
            module["uservisible"] = False
            module.pop("contents", None)
            module.pop("contentsinfo", None)
        for key in ("url", "modicon"):
            if key in module:
                module[key] = self.absolute(module[key])
        if "contents" in module:
            for content in module["contents"]:
                url = content.get("fileurl")
                if "filesize" not in content and isinstance(url, str):
                    body = sizes.get(unquote(urlsplit(url).path))
                    content["filesize"] = len(body) if body is not None else 0
                if content.get("type") == "url" and "filename" not in content:
                    content["filename"] = file_name_of(module["name"])
                content["fileurl"] = self.absolute(url)
            module.setdefault("contentsinfo", contents_info(module["contents"]))
        return module


def contents_info(contents):
    files = [c for c in contents if c.get("type") == "file"]
    mimetypes = []
    for content in files:
        if content.get("mimetype") and content["mimetype"] not in mimetypes:
            mimetypes.append(content["mimetype"])
    return {
        "filescount": len(files),
        "filessize": sum(c.get("filesize") or 0 for c in files),
        "lastmodified": max((c.get("timemodified") or 0 for c in contents), default=0),
        "mimetypes": mimetypes,
        "repositorytype": "",
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "Apache"

    # ---- plumbing

    def log_request(self, code="-", size="-"):
        pass  # every request is logged by log_line, with the token masked

    def log_message(self, format, *args):
        self.log_line(format % args)

    def log_line(self, text):
        text = TOKEN_IN_TEXT.sub(r"\1***", text)
        token = self.server.last_token
        if token:
            text = text.replace(token, "***")
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.client_address[1]} {text}\n")
        sys.stderr.flush()

    def send(self, status, body, content_type, extra_headers=(), note=""):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_done(status, note)

    def log_done(self, status, note):
        line = f"{self.command} {self.path}"
        if getattr(self, "form_text", ""):
            line += f" [body: {self.form_text}]"
        self.log_line(f"{line} -> {status}" + (f" {note}" if note else ""))

    def not_found(self):
        self.send(404, b"Not Found\n", "text/plain; charset=utf-8")

    def load_fixture(self):
        try:
            with open(self.server.fixture_path, encoding="utf-8") as file:
                fixture = json.load(file)
        except (OSError, ValueError) as error:
            self.send(500, f"bad fixture: {error}\n".encode(), "text/plain; charset=utf-8")
            return None
        self.server.last_token = fixture.get("token", "") or self.server.last_token
        return fixture

    def read_form(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.lower().startswith("application/x-www-form-urlencoded"):
            return []  # PHP fills $_POST from form-encoded bodies only
        self.form_text = data.decode("utf-8", "replace")
        return parse_qsl(self.form_text, keep_blank_values=True)

    # ---- methods

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == REST_PATH:
            self.rest([])
        elif path.startswith(FILE_PREFIX):
            self.download()
        elif path == "/__stats":
            body = json.dumps(self.server.stats.as_json()).encode()
            self.send(200, body, "application/json")
        else:
            self.not_found()

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == REST_PATH:
            self.rest(self.read_form())
        elif path == "/__reset_stats":
            self.read_form()
            with self.server.stats.lock:
                self.server.stats.reset()
            self.send(200, b"{}", "application/json")
        else:
            self.read_form()
            self.not_found()

    def do_other(self):
        if int(self.headers.get("Content-Length") or 0) > 0:
            self.rfile.read(int(self.headers["Content-Length"]))
        self.not_found()

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_other

    # ---- endpoints

    def redirected(self, fixture):
        """Answers a redirect as the site would, if the request is not for its own address."""
        path = urlsplit(self.path).path
        if fixture.get("moved_to"):  # the web server: http to https, permanently
            location = fixture["moved_to"].rstrip("/") + path
            body = b"<!DOCTYPE HTML PUBLIC>\n<html><head><title>301 Moved Permanently</title>"
            self.send(301, body, "text/html; charset=iso-8859-1", [("Location", location)])
            return True
        host = fixture.get("site_host")
        port = self.server.server_address[1]
        if host and self.headers.get("Host", "") != f"{host}:{port}":
            # Moodle itself (lib/setup.php): any other host name is sent to wwwroot, without the
            # query and, for a POST, without the body.
            location = f"http://{host}:{port}{path}"
            body = f'<html><body><a href="{location}">continue</a></body></html>'.encode()
            self.send(
                303,
                body,
                "text/html; charset=UTF-8",
                [("Location", location), ("X-Redirect-By", "Moodle")],
            )
            return True
        return False

    def rest(self, form):
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        params.update(form)
        function = params.get("wsfunction", "")
        with self.server.stats.lock:
            self.server.stats.rest_calls += 1
            self.server.stats.rest_functions.append(function)
        fixture = self.load_fixture()
        if fixture is None or self.redirected(fixture):
            return
        if not fixture.get("webservices", True):
            self.send(403, b"", "text/html; charset=utf-8", note="web services disabled")
            return
        if fixture.get("rest_delay_ms"):
            time.sleep(fixture["rest_delay_ms"] / 1000)
        moodle = Moodle(fixture, self.server.site_base(fixture))
        try:
            if not fixture.get("token") or params.get("wstoken") != fixture["token"]:
                raise invalid_token()
            result, note = moodle.call(function, params), function
        except MoodleError as error:
            result, note = error, f"{function} {error.errorcode}"
        if params.get("moodlewsrestformat") == "json":
            text = php_json(result.as_json() if isinstance(result, MoodleError) else result)
            content_type = "application/json"
        else:
            if isinstance(result, MoodleError):
                text = php_xml_exception(result)
            else:
                text = php_xml(result)
            content_type = "application/xml; charset=utf-8"
        self.send(200, text.encode("utf-8"), content_type, note=note)

    def download(self):
        url = urlsplit(self.path)
        with self.server.stats.lock:
            self.server.stats.downloads += 1
            self.server.stats.download_paths.append(url.path)
        fixture = self.load_fixture()
        if fixture is None or self.redirected(fixture):
            return
        if not fixture.get("webservices", True):
            self.download_error(200, "Access control exception", "accessexception")
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if not fixture.get("token") or params.get("token") != fixture["token"]:
            self.download_error(200, "Invalid token - token not found", "invalidtoken")
            return
        entry = Moodle(fixture, self.server.site_base(fixture)).files().get(unquote(url.path))
        if entry is None:
            self.download_error(404, "Sorry, the requested file could not be found", "filenotfound")
            return
        if entry.get("header_delay_ms"):
            time.sleep(entry["header_delay_ms"] / 1000)
        if "error" in entry:
            # Moodle answers filenotfound with HTTP 404, its other download errors with 200.
            code = entry["error"].get("errorcode")
            status = int(entry.get("status", 404 if code == "filenotfound" else 200))
            body = php_json(entry["error"]).encode("utf-8")
            self.send(status, body, "application/json; charset=utf-8", note="error entry")
            return
        body = body_of(entry) or b""
        status = int(entry.get("status", 200))
        self.send_response(status)
        self.send_header("Content-Type", entry.get("mimetype", "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        name = url.path.rsplit("/", 1)[-1]
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        if entry.get("delay_ms"):
            self.wfile.flush()
            time.sleep(entry["delay_ms"] / 1000)
        truncate_at = entry.get("truncate_at")
        if truncate_at is not None and int(truncate_at) < len(body):
            self.wfile.write(body[: int(truncate_at)])
            self.close_connection = True
            self.log_done(status, f"{len(body)} bytes announced, cut after {truncate_at}")
            return
        self.wfile.write(body)
        self.log_done(status, f"{len(body)} bytes")

    def download_error(self, status, message, errorcode):
        error = {
            "error": message,
            "errorcode": errorcode,
            "stacktrace": None,
            "debuginfo": None,
            "reproductionlink": None,
        }
        self.send(
            status,
            php_json(error).encode("utf-8"),
            "application/json; charset=utf-8",
            note=errorcode,
        )

    def handle_one_request(self):
        self.form_text = ""
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError) as error:
            self.log_line(f"{self.command} {self.path} -> connection lost ({error})")
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, port, fixture_path):
        super().__init__(("127.0.0.1", port), Handler)
        self.fixture_path = fixture_path
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.stats = Stats()
        self.last_token = ""

    def site_base(self, fixture):
        """The site's own address (wwwroot): from "site_host" when the fixture names one."""
        host = fixture.get("site_host")
        return f"http://{host}:{self.server_address[1]}" if host else self.base


def write_atomically(path, text):
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description="A fake Moodle web-service server for tests.")
    parser.add_argument("--fixture", required=True, help="the fixture JSON, read on every request")
    parser.add_argument("--port-file", required=True, help="where to write the port number")
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = Server(args.port, os.path.abspath(args.fixture))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    write_atomically(args.port_file, f"{server.server_address[1]}\n")
    sys.stderr.write(f"fake Moodle on {server.base}/ serving {server.fixture_path}\n")
    sys.stderr.flush()
    while not stop.wait(0.2):
        pass
    server.shutdown()
    thread.join()
    server.server_close()
    sys.stderr.write("fake Moodle stopped\n")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
