#!/usr/bin/env python3
"""The assignment's server: receives the files client.py sends and saves them in its folder.

It serves one connection at a time and reads each field to its exact length: 4 bytes of
count, then per file 128 bytes of name, 8 bytes of size and `size` bytes of payload, in reads of
at most 1024 bytes. It prints what it receives and answers nothing.

This is the course's reference server, rewritten for wirestep with the same socket calls in the
same order. Its weaknesses are kept on purpose (see README.md): no name check, partial files left
behind, no timeouts.
"""
import argparse
import os
import socket
import struct

PIECE = 1024


def recv_exact(sock, num_bytes):
    """Reads until exactly num_bytes have arrived: TCP may hand them over in any number of pieces."""
    data = b''
    while len(data) < num_bytes:
        chunk = sock.recv(num_bytes - len(data))
        if not chunk:
            # An empty read is the peer's FIN: the field can never be completed.
            raise ConnectionError("Conexão perdida.")
        data += chunk
    return data


def receber(client_socket):
    """Receives one whole transfer from an accepted connection."""
    qtd = struct.unpack('!I', recv_exact(client_socket, 4))[0]
    print(f"[i] Recebendo {qtd} arquivos:")

    for i in range(qtd):
        # strip() removes the padding, and with it any whitespace (spaces, tabs, line breaks) the name began or ended with.
        nome = recv_exact(client_socket, 128).decode().strip()
        tamanho = struct.unpack('!Q', recv_exact(client_socket, 8))[0]
        print(f"{i+1}. {nome} ({tamanho} bytes)")

        # The name is used as a path exactly as it came: '../x' or '/tmp/x' land outside the folder.
        with open(nome, 'wb') as destino:
            restantes = tamanho
            while restantes > 0:
                chunk = client_socket.recv(min(PIECE, restantes))
                if not chunk:
                    # The partial file stays on disk under its final name.
                    raise ConnectionError("Transferência interrompida.")
                destino.write(chunk)
                restantes -= len(chunk)

        print(f"{nome} salvo com sucesso.")


def start_server(host='127.0.0.1', port=8181):
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.bind((host, port))
    server_socket.listen(5)
    if port == 0:
        # Only when asked for any free port (tests do), say which one the system chose.
        port = server_socket.getsockname()[1]
    print(f"[+] Servidor ouvindo em {host}:{port}")

    while True:
        client_socket, addr = server_socket.accept()
        print(f"\n[+] Conexão recebida de {addr}")
        try:
            receber(client_socket)
        except Exception as e:
            print(f"[x] Erro: {e}")
        finally:
            client_socket.close()


def main():
    parser = argparse.ArgumentParser(description="Receive files from client.py, one connection at a time.")
    parser.add_argument('--host', default='127.0.0.1', help="address to listen on (default 127.0.0.1)")
    parser.add_argument('--port', type=int, default=8181, help="port to listen on (default 8181; 0 picks a free one)")
    parser.add_argument('--out', default='.', help="folder the files are saved in (default: the current one)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # Names are opened relative to the current folder, as the course's server does: move there.
    os.chdir(args.out)
    start_server(host=args.host, port=args.port)


if __name__ == '__main__':
    main()
