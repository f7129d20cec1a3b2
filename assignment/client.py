#!/usr/bin/env python3
"""The assignment's client: sends every regular file of one folder to server.py over TCP.

Protocol (client to server, nothing comes back):
  count        4 bytes, unsigned big-endian (struct '!I')
  per file:
    name     128 bytes, UTF-8, right-padded with spaces (never cut: a longer name is sent whole)
    size       8 bytes, unsigned big-endian (struct '!Q')
    payload  `size` bytes, read from the file 1024 bytes at a time, one send() per piece

This is the course's reference client, rewritten for wirestep with the same socket calls in the
same order. Its weaknesses are kept on purpose (see README.md): the lessons and the tests show them.
"""
import argparse
import os
import socket
import struct

NAME_FIELD = 128
PIECE = 1024


def criar_arquivos_de_teste(pasta, n):
    """Fills `pasta` with n small text files, arquivo_1.txt ... arquivo_n.txt."""
    os.makedirs(pasta, exist_ok=True)
    for numero in range(1, n + 1):
        with open(os.path.join(pasta, f"arquivo_{numero}.txt"), 'w') as arquivo:
            arquivo.write(f"Este é o conteúdo do arquivo {numero}\n")


def send_files(host='127.0.0.1', port=8181, pasta="/home/ALUNO/arquivos_para_enviar"):
    """Sends the regular files directly inside `pasta` (no subfolders), in os.listdir() order."""
    nomes = [n for n in os.listdir(pasta) if os.path.isfile(os.path.join(pasta, n))]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect((host, port))
        # send() may move fewer bytes than asked; like the course's client, nobody checks.
        s.send(struct.pack('!I', len(nomes)))

        for nome in nomes:
            caminho = os.path.join(pasta, nome)
            tamanho = os.path.getsize(caminho)
            print(f"📤 Enviando: {nome} ({tamanho} bytes)")

            # ljust pads but never truncates: a name over 128 bytes shifts every field after it.
            s.send(nome.encode().ljust(NAME_FIELD, b' '))
            s.send(struct.pack('!Q', tamanho))
            with open(caminho, 'rb') as origem:
                while pedaco := origem.read(PIECE):
                    s.send(pedaco)

        print("\n✅ Todos os arquivos foram enviados.")


def main():
    parser = argparse.ArgumentParser(description="Send every file of a folder to server.py.")
    parser.add_argument('--host', default='127.0.0.1', help="server address (default 127.0.0.1)")
    parser.add_argument('--port', type=int, default=8181, help="server port (default 8181)")
    parser.add_argument('--folder', default="/home/ALUNO/arquivos_para_enviar",
                        help="folder whose files are sent (default /home/ALUNO/arquivos_para_enviar)")
    parser.add_argument('--no-test-files', action='store_true',
                        help="send the folder as it is, without first writing the ten arquivo_N.txt")
    args = parser.parse_args()
    if not args.no_test_files:
        criar_arquivos_de_teste(args.folder, 10)
    send_files(host=args.host, port=args.port, pasta=args.folder)


if __name__ == '__main__':
    main()
