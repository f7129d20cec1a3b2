"""wirestep's socket tracer, loaded by `wirestep trace` through PYTHONPATH before the program runs.

It wraps the methods of socket.socket so that every call a TCP socket makes (connect, accept,
send, sendall, sendto, sendfile, recv, recv_into, shutdown, close) is reported to wirestep, with
what the program asked, what the call moved and the bytes, over the pipe whose descriptor is in
WIRESTEP_TRACE_FD. Then it runs the sitecustomize the program would have had without it.

Frames (little-endian): u32 length of what follows, u32 connection, u8 kind, u8 flags,
u16 errno, u32 asked, u64 monotonic ns, then the payload: the bytes moved for data calls, JSON
for the rest. Frames of data calls wait in a 256 KiB buffer until it is full; the others go at
once. The tracer never raises into the program: if anything of its own fails (the pipe
closed), it stops tracing and the program runs on untouched.
"""
import os
import sys


def _start():
    fd_text = os.environ.pop('WIRESTEP_TRACE_FD', None)
    here = os.path.dirname(os.path.abspath(__file__))
    # The program sees the environment and sys.path it would have had without wirestep.
    parts = os.environ.get('PYTHONPATH', '').split(os.pathsep)
    if parts and parts[0] == here:
        rest = os.pathsep.join(parts[1:])
        if rest:
            os.environ['PYTHONPATH'] = rest
        else:
            os.environ.pop('PYTHONPATH', None)
    port_map_text = os.environ.pop('WIRESTEP_PORT_MAP', '')
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != here]
    try:
        if fd_text is not None:
            _install(int(fd_text), port_map_text)
    except Exception:
        pass
    _chain(here)


def _chain(here):
    """Runs the next sitecustomize on sys.path, as Python would have without this one."""
    import importlib.machinery
    import importlib.util
    spec = importlib.machinery.PathFinder.find_spec('sitecustomize', [p for p in sys.path if os.path.abspath(p or '.') != here])
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules['sitecustomize'] = module
    spec.loader.exec_module(module)


# Frame kinds: the same numbers as src/trace/frames.ts.
HELLO, LISTEN, CONNECT, CONNECT_EX, ACCEPT = 1, 2, 3, 4, 5
SEND, SENDALL, SENDTO, SENDFILE, RECV, RECV_INTO, RECVFROM = 10, 11, 12, 13, 14, 15, 16
SHUTDOWN, CLOSE = 20, 21
F_EXCEPTION = 4


def _install(fd, port_map_text):
    import itertools
    import json
    import socket as socket_module
    import stat
    import struct
    import threading
    import time

    mode = os.fstat(fd).st_mode
    # A pipe, or the socket pair Node makes for an extra stdio pipe: never a file or a terminal.
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return
    # The program's own children must not write into wirestep's pipe.
    os.set_inheritable(fd, False)
    port_map = {}
    for pair in port_map_text.split(','):
        if '=' in pair:
            a, b = pair.split('=', 1)
            port_map[int(a)] = int(b)

    header = struct.Struct('<IIBBHIQ')
    pack = header.pack
    pack_into = header.pack_into
    HEAD = header.size
    hsize = HEAD - 4
    now = time.monotonic_ns
    lock = threading.Lock()
    # Frames wait in one buffer of a fixed size, made once, until it is full: every call's bytes
    # are copied in (1 KiB is cheap) and nothing of the program's is kept. Keeping its bytes
    # objects until a batch went out, or growing a buffer, made the C library hand memory back
    # and fault it in again on every batch: half of the tracer's cost.
    LIMIT = 1 << 18
    buf = bytearray(LIMIT)
    room = memoryview(buf)
    used = [0]
    state = {'on': True}
    NONE = 0xFFFFFFFF
    Base = socket_module.socket
    TCP = {socket_module.AF_INET, getattr(socket_module, 'AF_INET6', -1)}
    # A bigger pipe lets the program run further ahead of wirestep (Linux; a failure changes nothing).
    try:
        import fcntl
        if stat.S_ISFIFO(mode):
            fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), 1 << 20)
        else:
            with socket_module.socket(fileno=os.dup(fd)) as pipe_socket:
                pipe_socket.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_SNDBUF, 1 << 20)
    except Exception:
        pass

    def write_all(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def flush_locked():
        n = used[0]
        used[0] = 0
        if n and state['on']:
            try:
                write_all(room[:n])
            except OSError:
                state['on'] = False

    def flush():
        if not state['on']:
            return
        with lock:
            flush_locked()

    def put(conn, kind, flags, err, asked, t, data, urgent):
        """
        Adds one frame of `data` (bytes-like, one byte per item) to the buffer; called with the
        lock held. A frame larger than the buffer goes out on its own, after what waits.
        """
        n = len(data)
        pos = used[0]
        end = pos + HEAD + n
        if end > LIMIT:
            flush_locked()
            pos = 0
            end = HEAD + n
            if end > LIMIT:
                if state['on']:
                    try:
                        write_all(pack(hsize + n, conn, kind, flags, err, asked, t))
                        write_all(data)
                    except OSError:
                        state['on'] = False
                return
        pack_into(buf, pos, hsize + n, conn, kind, flags, err, asked, t)
        room[pos + HEAD:end] = data
        used[0] = end
        if urgent:
            flush_locked()

    def emit(conn, kind, flags, err, asked, data, urgent, moved=-1, t=0):
        """
        Queues one frame with the first `moved` bytes of `data` (all when -1); `asked` -1 is the
        size of `data`. `urgent` frames (not data) go out at once, so wirestep sees them live.
        `t` is the call's time when it is not now: a send is stamped when it was called.
        """
        if not state['on']:
            return
        try:
            view = memoryview(data).cast('B')
            size = len(view)
            if 0 <= moved < size:
                view = view[:moved]
            if asked < 0:
                asked = size if size < NONE else NONE
            with lock:
                put(conn, kind, flags, err, asked, t or now(), view, urgent)
        except Exception:
            state['on'] = False

    def emit_json(conn, kind, flags, err, obj):
        emit(conn, kind, flags, err, 0xFFFFFFFF, json.dumps(obj).encode(), True)

    def endpoint(sock, peer):
        try:
            a = sock.getpeername() if peer else sock.getsockname()
            return [a[0], a[1]]
        except Exception:
            return None

    def mapped(address):
        if port_map and isinstance(address, tuple) and len(address) >= 2 and address[1] in port_map:
            return (address[0], port_map[address[1]]) + tuple(address[2:])
        return address

    def failed(conn, kind, asked, exc):
        try:
            err = getattr(exc, 'errno', None)
            err = err if isinstance(err, int) and 0 <= err < 65536 else 0
            body = json.dumps({'exception': type(exc).__name__}).encode()
        except Exception:
            return
        emit(conn, kind, F_EXCEPTION, err, asked_of(asked), body, True)

    def asked_of(n):
        return n if 0 <= n < 0xFFFFFFFF else 0xFFFFFFFF

    def size_of(data):
        """Bytes in a buffer the program passed (any bytes-like object), never raising."""
        if type(data) is bytes:
            return len(data)
        try:
            return memoryview(data).nbytes
        except Exception:
            return 0

    import errno
    IN_PROGRESS = {errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK}
    # Connections started without blocking, by id: which call started them.
    pending = {}
    # next() on a count is atomic under the GIL: two threads connecting at once get two ids.
    new_id = itertools.count(1).__next__

    def after_fork():
        state['on'] = False
        used[0] = 0

    class socket(Base):
        __slots__ = ('_ws',)

        def __init__(self, *args, **kwargs):
            # 0: not traced; else the connection id wirestep knows this socket by, negative
            # while a non-blocking connect is under way.
            self._ws = 0
            Base.__init__(self, *args, **kwargs)

        def _ws_live(self):
            """Reports a non-blocking connect at the first call after it completed; 0 until then."""
            peer = endpoint(self, True)
            if peer is None:
                return 0
            conn = -self._ws
            self._ws = conn
            emit_json(conn, pending.pop(conn, CONNECT), 0, 0, {'local': endpoint(self, False), 'peer': peer})
            return conn

        def bind(self, address):
            return Base.bind(self, mapped(address))

        def listen(self, *args):
            r = Base.listen(self, *args)
            if state['on'] and self.family in TCP:
                emit_json(0, LISTEN, 0, 0, {'local': endpoint(self, False)})
            return r

        def connect(self, address):
            address = mapped(address)
            if not (state['on'] and self.family in TCP and self.type == socket_module.SOCK_STREAM):
                return Base.connect(self, address)
            conn = new_id()
            self._ws = conn
            try:
                r = Base.connect(self, address)
            except BlockingIOError:
                # Non-blocking (asyncio, select loops): it connects later.
                self._ws = -conn
                raise
            except BaseException as exc:
                failed(conn, CONNECT, 0, exc)
                raise
            emit_json(conn, CONNECT, 0, 0, {'local': endpoint(self, False), 'peer': endpoint(self, True)})
            return r

        def connect_ex(self, address):
            address = mapped(address)
            r = Base.connect_ex(self, address)
            if state['on'] and self.family in TCP and self.type == socket_module.SOCK_STREAM:
                conn = new_id()
                if r in IN_PROGRESS:
                    self._ws = -conn
                    pending[conn] = CONNECT_EX
                    return r
                self._ws = 0 if r else conn
                emit_json(conn, CONNECT_EX, F_EXCEPTION if r else 0, r if 0 <= r < 65536 else 0,
                          {'local': endpoint(self, False), 'peer': endpoint(self, True), 'result': r})
            return r

        def accept(self):
            sock, addr = Base.accept(self)
            if state['on'] and self.family in TCP:
                conn = new_id()
                sock._ws = conn
                emit_json(conn, ACCEPT, 0, 0, {'local': endpoint(sock, False), 'peer': endpoint(sock, True)})
            return sock, addr

        def send(self, data, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.send(self, data, *args)
            # Stamped when called: its bytes may reach the reader before the call returns.
            t = now()
            try:
                n = Base.send(self, data, *args)
            except BaseException as exc:
                failed(conn, SEND, size_of(data), exc)
                raise
            if type(data) is bytes and state['on']:
                # The common case inline: one frame, the bytes that went copied once.
                size = len(data)
                try:
                    with lock:
                        put(conn, SEND, 0, 0, size if size < NONE else NONE, t, data if n == size else memoryview(data)[:n], False)
                except Exception:
                    state['on'] = False
            else:
                emit(conn, SEND, 0, 0, -1, data, False, n, t)
            return n

        def sendall(self, data, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.sendall(self, data, *args)
            # Stamped when called: its bytes may reach the reader before the call returns.
            t = now()
            try:
                r = Base.sendall(self, data, *args)
            except BaseException as exc:
                failed(conn, SENDALL, size_of(data), exc)
                raise
            emit(conn, SENDALL, 0, 0, -1, data, False, t=t)
            return r

        def sendto(self, data, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.sendto(self, data, *args)
            # Stamped when called: its bytes may reach the reader before the call returns.
            t = now()
            try:
                n = Base.sendto(self, data, *args)
            except BaseException as exc:
                failed(conn, SENDTO, size_of(data), exc)
                raise
            emit(conn, SENDTO, 0, 0, -1, data, False, n, t)
            return n

        def sendfile(self, file, offset=0, count=None):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.sendfile(self, file, offset, count)
            try:
                start = offset or file.tell()
            except Exception:
                start = 0
            # Its fallback calls send(): those calls are this one's, not the program's.
            self._ws = 0
            t = now()
            try:
                n = Base.sendfile(self, file, offset, count)
            except BaseException as exc:
                self._ws = conn
                failed(conn, SENDFILE, asked_of(count or 0), exc)
                raise
            self._ws = conn
            try:
                data = os.pread(file.fileno(), n, start) if n else b''
            except Exception:
                data = b''
            emit(conn, SENDFILE, 0, 0, asked_of(count if count else n), data, False, t=t)
            return n

        def recv(self, n, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.recv(self, n, *args)
            try:
                data = Base.recv(self, n, *args)
            except BaseException as exc:
                failed(conn, RECV, n, exc)
                raise
            if state['on']:
                try:
                    with lock:
                        put(conn, RECV, 0, 0, n if 0 <= n < NONE else NONE, now(), data, False)
                except Exception:
                    state['on'] = False
            return data

        def recvfrom(self, n, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.recvfrom(self, n, *args)
            try:
                r = Base.recvfrom(self, n, *args)
            except BaseException as exc:
                failed(conn, RECVFROM, n, exc)
                raise
            emit(conn, RECVFROM, 0, 0, asked_of(n), r[0], False)
            return r

        def recv_into(self, buffer, nbytes=0, *args):
            conn = self._ws
            if conn <= 0:
                conn = conn and self._ws_live()
            if not conn:
                return Base.recv_into(self, buffer, nbytes, *args)
            asked = nbytes or size_of(buffer)
            try:
                n = Base.recv_into(self, buffer, nbytes, *args)
            except BaseException as exc:
                failed(conn, RECV_INTO, asked, exc)
                raise
            emit(conn, RECV_INTO, 0, 0, asked_of(asked), buffer, False, n)
            return n

        def shutdown(self, how):
            conn = self._ws
            r = Base.shutdown(self, how)
            if conn > 0:
                emit_json(conn, SHUTDOWN, 0, 0, {'how': how})
            return r

        def close(self):
            conn = self._ws
            self._ws = 0
            if conn > 0:
                emit_json(conn, CLOSE, 0, 0, {})
            elif conn < 0:
                pending.pop(-conn, None)
            return Base.close(self)

        def detach(self):
            self._ws = 0
            return Base.detach(self)

    socket.__module__ = Base.__module__
    socket.__qualname__ = Base.__qualname__
    socket.__doc__ = Base.__doc__
    socket_module.socket = socket
    socket_module.SocketType = socket if socket_module.SocketType is Base else socket_module.SocketType
    if hasattr(os, 'register_at_fork'):
        os.register_at_fork(after_in_child=after_fork)
    import atexit
    atexit.register(flush)
    impl = sys.implementation
    runtime = '{} {}.{}.{}'.format('CPython' if impl.name == 'cpython' else impl.name, *sys.version_info[:3])
    emit_json(0, HELLO, 0, 0, {'pid': os.getpid(), 'argv': list(getattr(sys, 'orig_argv', getattr(sys, 'argv', []))), 'cwd': os.getcwd(), 'runtime': runtime, 'executable': sys.executable})


_start()
