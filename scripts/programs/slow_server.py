#!/usr/bin/env python3
"""A slow receiver for the flow-control lesson: server.py's protocol, read slowly.

Same protocol and calls as assignment/server.py (count, then per file a 128-byte name, an 8-byte
size and the payload, read with recv() of at most 1024 bytes), with three changes on purpose:
- a small receive buffer (SO_RCVBUF, set before listen() so the accepted socket inherits it);
- a pause after every few payload recv() calls, so the program reads slower than the client sends;
- optionally a maximum segment size (TCP_MAXSEG, also before listen()), which the SYN-ACK
  announces: 1460 makes loopback segments Ethernet-sized.
The receive buffer fills, the window it advertises shrinks to zero, and the sender's send()
calls block until the reader catches up. Sleeping is fine here: this program stages a slow
reader for a recorded sample; no test runs it.
"""
import argparse
import os
import socket
import struct
import time

PIECE = 1024


def recv_exact(sock, num_bytes):
    data = b''
    while len(data) < num_bytes:
        chunk = sock.recv(num_bytes - len(data))
        if not chunk:
            raise ConnectionError("Conexão perdida.")
        data += chunk
    return data


def receber(client_socket, pause, every):
    qtd = struct.unpack('!I', recv_exact(client_socket, 4))[0]
    print(f"[i] Recebendo {qtd} arquivos:")
    for i in range(qtd):
        nome = recv_exact(client_socket, 128).decode().strip()
        tamanho = struct.unpack('!Q', recv_exact(client_socket, 8))[0]
        print(f"{i+1}. {nome} ({tamanho} bytes)")
        with open(nome, 'wb') as destino:
            restantes = tamanho
            lidas = 0
            while restantes > 0:
                chunk = client_socket.recv(min(PIECE, restantes))
                if not chunk:
                    raise ConnectionError("Transferência interrompida.")
                destino.write(chunk)
                restantes -= len(chunk)
                lidas += 1
                if lidas % every == 0:
                    # The slow part: the kernel keeps receiving into the buffer until it is full.
                    time.sleep(pause)
        print(f"{nome} salvo com sucesso.")


def main():
    parser = argparse.ArgumentParser(description="Receive files like server.py, but slowly, with a small receive buffer.")
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8181)
    parser.add_argument('--out', default='.', help="folder the files are saved in")
    parser.add_argument('--rcvbuf', type=int, default=8192, help="SO_RCVBUF in bytes, set before listen() (Linux doubles it)")
    parser.add_argument('--pause', type=float, default=0.05, help="seconds to sleep after every --every payload recv() calls")
    parser.add_argument('--every', type=int, default=8)
    parser.add_argument('--mss', type=int, default=0, help="TCP_MAXSEG in bytes, set before listen(); 0 leaves it alone")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.chdir(args.out)
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    if args.mss > 0:
        server_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, args.mss)
    server_socket.bind((args.host, args.port))
    server_socket.listen(5)
    port = server_socket.getsockname()[1]
    print(f"[+] Servidor ouvindo em {args.host}:{port}", flush=True)
    while True:
        client_socket, addr = server_socket.accept()
        print(f"\n[+] Conexão recebida de {addr}")
        try:
            receber(client_socket, args.pause, args.every)
        except Exception as e:
            print(f"[x] Erro: {e}")
        finally:
            client_socket.close()


if __name__ == '__main__':
    main()
