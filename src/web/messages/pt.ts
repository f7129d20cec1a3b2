import type { MessageKey } from './en.js';

/** As palavras do próprio site em português do Brasil: as mesmas chaves do inglês (o compilador confere). */
export const pt: Readonly<Record<MessageKey, string>> = {
  'bytes': '{n} bytes',
  'event.sender.connect': 'O cliente se conectou ao servidor.',
  'event.receiver.accept': 'O servidor aceitou a conexão.',
  'event.sender.write': 'O cliente escreveu {n} bytes (bytes {from} a {to} da transmissão).',
  'event.receiver.read': 'O servidor leu {n} bytes (bytes {from} a {to} da transmissão).',
  'event.sender.end': 'O cliente terminou de escrever depois de {at} bytes e fechou o seu sentido da conexão.',
  'event.receiver.end': 'O servidor percebeu o fim da transmissão depois de {at} bytes: o cliente fechou o seu sentido.',
  'event.sender.close': 'O socket do cliente foi fechado.',
  'event.receiver.close': 'O socket do servidor foi fechado.',
  'event.sender.error': 'O cliente teve um erro depois de {at} bytes: {message}',
  'event.receiver.error': 'O servidor teve um erro depois de {at} bytes: {message}',
  'state.in': 'Depois desta leitura o servidor está em “{title}”: já tem {have} bytes desse campo e ainda faltam {needed}.',
  'state.trailing': 'Depois desta leitura o servidor já tem todos os arquivos anunciados; chegaram {have} bytes a mais depois deles.',
  'state.done': 'Depois desta leitura o servidor já tem todos os arquivos que a quantidade anunciou.',
};
