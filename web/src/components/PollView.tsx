import type { Message, Poll } from '../types';
import { fullTime } from '../util';

export function PollView({ message, poll, onVote, tab }: { message: Message; poll: Poll; onVote: (options: number[]) => void; tab: number }) {
  const total = poll.options.reduce((s, o) => s + o.votes, 0);
  const mine = new Set(poll.my_votes ?? []);
  const closed = poll.closed || (!!poll.closes_at && new Date(poll.closes_at).getTime() < Date.now());
  const toggle = (i: number) => {
    if (closed) return;
    if (poll.multiple) {
      const next = new Set(mine);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      onVote([...next].sort((a, b) => a - b));
    } else {
      onVote([i]);
    }
  };
  const qid = `poll-q-${message.id}`;
  return (
    <div class="poll">
      <p class="poll-q" id={qid}><span class="tag">Poll</span> {poll.question}</p>
      <div role={poll.multiple ? "group" : "radiogroup"} aria-labelledby={qid} class="poll-options">
        {poll.options.map((o, i) => {
          const pct = total ? Math.round((o.votes / total) * 100) : 0;
          return (
            <button key={i} type="button" tabIndex={tab} class={mine.has(i) ? 'poll-opt voted' : 'poll-opt'} disabled={closed}
              role={poll.multiple ? 'checkbox' : 'radio'} aria-checked={mine.has(i)}
              aria-label={`${o.text}: ${o.votes} ${o.votes === 1 ? 'vote' : 'votes'}, ${pct}%`}
              onClick={() => toggle(i)}>
              <span class="poll-bar" style={{ width: pct + '%' }} aria-hidden="true" />
              <span class="poll-text" aria-hidden="true">{mine.has(i) ? '✓ ' : ''}{o.text}</span>
              <span class="poll-count" aria-hidden="true">{o.votes} · {pct}%</span>
            </button>
          );
        })}
      </div>
      <p class="poll-meta">
        {total} {total === 1 ? 'vote' : 'votes'} · {poll.multiple ? 'multiple choice' : 'single choice'}
        {closed ? ' · closed' : poll.closes_at ? ` · closes ${fullTime(poll.closes_at)}` : ''}
      </p>
    </div>
  );
}
