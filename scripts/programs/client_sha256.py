#!/usr/bin/env python3
"""client.py with one change to the protocol, for the lesson on integrity (lessons/integrity.*.md).

After each file's payload it sends the 32-byte SHA-256 of that payload, so a receiver that knows
this version of the protocol can check every file. Everything else is client.py's, call for call:

  count        4 bytes, unsigned big-endian (struct '!I')
  per file:
    name     128 bytes, UTF-8, right-padded with spaces
    size       8 bytes, unsigned big-endian (struct '!Q')
    payload  `size` bytes, 1024 at a time, one send() per piece
    sha256    32 bytes: hashlib.sha256(payload).digest()   <- new

The assignment's server.py does not know the new field: it reads those 32 bytes as the start of
the next file's name. That is the point of the lesson.
"""
import argparse
import hashlib
import os
import socket
import struct

NAME_FIELD = 128
PIECE = 1024


def send_files(host, port, pasta):
    """Sends the regular files directly inside `pasta`, in os.listdir() order, each followed by its SHA-256."""
    nomes = [n for n in os.listdir(pasta) if os.path.isfile(os.path.join(pasta, n))]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect((host, port))
        s.send(struct.pack('!I', len(nomes)))

        for nome in nomes:
            caminho = os.path.join(pasta, nome)
            tamanho = os.path.getsize(caminho)
            print(f"Enviando: {nome} ({tamanho} bytes)")

            s.send(nome.encode().ljust(NAME_FIELD, b' '))
            s.send(struct.pack('!Q', tamanho))
            resumo = hashlib.sha256()
            with open(caminho, 'rb') as origem:
                while pedaco := origem.read(PIECE):
                    resumo.update(pedaco)
                    s.send(pedaco)
            # The new field: the payload's hash, 32 bytes, after the payload.
            s.send(resumo.digest())
            print(f"  SHA-256: {resumo.hexdigest()}")

        print("Todos os arquivos foram enviados.")


def main():
    parser = argparse.ArgumentParser(description="Send every file of a folder, each followed by its SHA-256.")
    parser.add_argument('--host', default='127.0.0.1', help="server address (default 127.0.0.1)")
    parser.add_argument('--port', type=int, default=8181, help="server port (default 8181)")
    parser.add_argument('--folder', required=True, help="folder whose files are sent")
    args = parser.parse_args()
    send_files(args.host, args.port, args.folder)


if __name__ == '__main__':
    main()
