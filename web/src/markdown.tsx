// A small, safe markdown subset for message text: **bold**, *italic* / _italic_,
// `code`, ``` code blocks ```, [links](https://…) and bare URLs, > quotes, - / 1. lists,
// and @mentions. The text is tokenised and turned into VNodes; nothing is ever parsed as
// HTML, so whatever a user types stays text.
import type { ComponentChildren, VNode } from 'preact';

export interface RenderOptions {
  /** Lower-cased usernames that are real mentions in this message. */
  mentions: Set<string>;
  /** Lower-cased username of the signed-in user. */
  me: string;
}

const SAFE_SCHEMES = ['http:', 'https:', 'mailto:'];

export function safeHref(raw: string): string | null {
  const href = raw.trim();
  if (/^mailto:/i.test(href)) return /^mailto:[^\s<>"]+@[^\s<>"]+$/i.test(href) ? href : null;
  try {
    const url = new URL(href);
    if (!SAFE_SCHEMES.includes(url.protocol)) return null;
    return url.href;
  } catch {
    return null;
  }
}

function link(href: string, children: ComponentChildren, k: number): VNode {
  return (
    <a key={k} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  );
}

// Inline: code spans first (their content is literal), then links, emphasis, mentions.
export function renderInline(text: string, opts: RenderOptions, depth = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let buf = '';
  let i = 0;
  let k = 0;
  const flush = () => {
    if (buf) out.push(buf);
    buf = '';
  };
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    // `code`
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        out.push(<code key={k++}>{text.slice(i + 1, end)}</code>);
        i = end + 1;
        continue;
      }
    }
    // [label](url)
    if (c === '[' && depth < 3) {
      const m = /^\[([^\]\n]{1,300})\]\(([^)\s]{1,2000})\)/.exec(rest);
      if (m) {
        const href = safeHref(m[2]);
        flush();
        if (href) out.push(link(href, renderInline(m[1], opts, depth + 1), k++));
        else out.push(m[0]);
        i += m[0].length;
        continue;
      }
    }
    // bare URL
    if ((c === 'h' || c === 'm') && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const m = /^(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/i.exec(rest) ?? /^(mailto:[^\s<>"]+@[^\s<>".,;:!?)]+)/i.exec(rest);
      if (m) {
        const href = safeHref(m[1]);
        if (href) {
          flush();
          out.push(link(href, m[1], k++));
          i += m[1].length;
          continue;
        }
      }
    }
    // **bold** / __bold__
    if ((rest.startsWith('**') || rest.startsWith('__')) && depth < 3) {
      const mark = rest.slice(0, 2);
      const end = text.indexOf(mark, i + 2);
      if (end > i + 2 && text[i + 2] !== ' ') {
        flush();
        out.push(<strong key={k++}>{renderInline(text.slice(i + 2, end), opts, depth + 1)}</strong>);
        i = end + 2;
        continue;
      }
    }
    // *italic* / _italic_ (not inside words for _)
    if ((c === '*' || (c === '_' && (i === 0 || !/\w/.test(text[i - 1])))) && depth < 3 && text[i + 1] && text[i + 1] !== ' ' && text[i + 1] !== c) {
      let end = text.indexOf(c, i + 1);
      while (end > 0 && c === '_' && end + 1 < text.length && /\w/.test(text[end + 1])) end = text.indexOf(c, end + 1);
      if (end > i + 1 && text[end - 1] !== ' ') {
        flush();
        out.push(<em key={k++}>{renderInline(text.slice(i + 1, end), opts, depth + 1)}</em>);
        i = end + 1;
        continue;
      }
    }
    // @mention
    if (c === '@' && (i === 0 || !/[\w.@-]/.test(text[i - 1]))) {
      const m = /^@([A-Za-z0-9_.-]{3,32})/.exec(rest);
      if (m) {
        const name = m[1].replace(/\.+$/, '');
        const lower = name.toLowerCase();
        if (opts.mentions.has(lower)) {
          flush();
          const isMe = lower === opts.me;
          out.push(
            <span key={k++} class={isMe ? 'mention mention-me' : 'mention'}>
              @{name}
            </span>,
          );
          i += name.length + 1;
          continue;
        }
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

function withBreaks(lines: string[], opts: RenderOptions): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  lines.forEach((line, idx) => {
    if (idx > 0) out.push(<br key={'br' + idx} />);
    out.push(...renderInline(line, opts));
  });
  return out;
}

type Block =
  | { t: 'p'; lines: string[] }
  | { t: 'code'; text: string }
  | { t: 'quote'; lines: string[] }
  | { t: 'ul'; items: string[] }
  | { t: 'ol'; items: string[]; start: number };

export function parseBlocks(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) body.push(lines[i++]);
      i++; // closing fence (or end of text)
      blocks.push({ t: 'code', text: body.join('\n') });
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*> ?/, ''));
      blocks.push({ t: 'quote', lines: body });
      continue;
    }
    if (/^\s*[-*+] \S/.test(line)) {
      const items: string[] = [];
      while (i < lines.length && /^\s*[-*+] \S/.test(lines[i])) items.push(lines[i++].replace(/^\s*[-*+] /, ''));
      blocks.push({ t: 'ul', items });
      continue;
    }
    const ol = /^\s*(\d{1,9})[.)] \S/.exec(line);
    if (ol) {
      const items: string[] = [];
      while (i < lines.length && /^\s*\d{1,9}[.)] \S/.test(lines[i])) items.push(lines[i++].replace(/^\s*\d{1,9}[.)] /, ''));
      blocks.push({ t: 'ol', items, start: Number(ol[1]) });
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const body: string[] = [];
    while (
      i < lines.length && lines[i].trim() !== '' && !/^\s*```/.test(lines[i]) && !/^\s*>/.test(lines[i]) &&
      !/^\s*[-*+] \S/.test(lines[i]) && !/^\s*\d{1,9}[.)] \S/.test(lines[i])
    ) body.push(lines[i++]);
    blocks.push({ t: 'p', lines: body });
  }
  return blocks;
}

export function Markdown({ text, opts }: { text: string; opts: RenderOptions }): VNode {
  const blocks = parseBlocks(text);
  return (
    <div class="md">
      {blocks.map((b, k) => {
        switch (b.t) {
          case 'code':
            return (
              <pre key={k}>
                <code>{b.text}</code>
              </pre>
            );
          case 'quote':
            return <blockquote key={k}>{withBreaks(b.lines, opts)}</blockquote>;
          case 'ul':
            return <ul key={k}>{b.items.map((it, j) => <li key={j}>{renderInline(it, opts)}</li>)}</ul>;
          case 'ol':
            return (
              <ol key={k} start={b.start}>
                {b.items.map((it, j) => <li key={j}>{renderInline(it, opts)}</li>)}
              </ol>
            );
          default:
            return <p key={k}>{withBreaks(b.lines, opts)}</p>;
        }
      })}
    </div>
  );
}

/** Plain one-line preview (sidebar, reply quotes): markdown marks stripped, text only. */
export function plainPreview(text: string | null, max = 120): string {
  if (!text) return '';
  const s = text.replace(/```[\s\S]*?(```|$)/g, ' [code] ').replace(/[*_`>#]/g, '').replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
