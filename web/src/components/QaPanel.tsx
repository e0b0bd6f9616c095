// Session Q&A for rooms with qa_enabled: ask (optionally anonymously), vote, sort by votes
// or time; the pinned question ("now answering") stands at the top. Moderators approve
// (the review queue of rooms with qa_moderation), mark answered, pin and hide.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Store, QaState, QaSort } from '../store';
import { sameId } from '../store';
import type { Question, RoomListEntry, User } from '../types';
import { displayName, fullTime, shortAgo } from '../util';
import { Icon } from './Icon';

const MAX_QUESTION = 500;

export function QaPanel({ store, qa, room, me, moderator, onClose }: {
  store: Store;
  qa: QaState;
  room: RoomListEntry;
  me: User;
  moderator: boolean;
  onClose: () => void;
}) {
  const review = moderator && !!room.qa_moderation;
  const [tab, setTab] = useState<'questions' | 'review'>('questions');
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    if (review && !qa.pendingLoaded) void store.loadPendingQuestions();
  }, [review, qa.roomId]);
  useEffect(() => {
    if (!review) setTab('questions');
  }, [review]);

  const pinned = qa.questions.find((q) => q.pinned && q.status === 'approved') ?? null;
  const rest = qa.questions.filter((q) => q !== pinned);
  const setSort = (sort: QaSort) => {
    if (sort !== qa.sort) void store.openQa(qa.roomId, sort);
  };
  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    const next = tab === 'questions' ? 'review' : 'questions';
    setTab(next);
    tabRefs.current[next === 'questions' ? 0 : 1]?.focus();
  };

  return (
    <section class="side-panel-inner qa" aria-labelledby="qa-title">
      <div class="panel-head">
        <h2 id="qa-title">Q&amp;A <span class="count">{qa.questions.length}</span></h2>
        <button type="button" class="icon-btn" aria-label="Close Q&A" onClick={onClose}><Icon name="close" size={16} /></button>
      </div>
      {review && (
        <div class="tabs qa-tabs" role="tablist" aria-label="Questions">
          <button type="button" role="tab" id="qa-tab-questions" aria-controls="qa-tabpanel" aria-selected={tab === 'questions'}
            tabIndex={tab === 'questions' ? 0 : -1} class={tab === 'questions' ? 'tab active' : 'tab'} ref={(el) => { tabRefs.current[0] = el; }}
            onClick={() => setTab('questions')} onKeyDown={onTabKey}>Questions</button>
          <button type="button" role="tab" id="qa-tab-review" aria-controls="qa-tabpanel" aria-selected={tab === 'review'}
            tabIndex={tab === 'review' ? 0 : -1} class={tab === 'review' ? 'tab active' : 'tab'} ref={(el) => { tabRefs.current[1] = el; }}
            onClick={() => setTab('review')} onKeyDown={onTabKey}>
            Review{qa.pending.length > 0 ? <> <span class="badge">{qa.pending.length}</span></> : null}
          </button>
        </div>
      )}
      <div class="panel-body" id="qa-tabpanel" role={review ? 'tabpanel' : undefined}
        aria-labelledby={review ? (tab === 'questions' ? 'qa-tab-questions' : 'qa-tab-review') : undefined}>
        {tab === 'review' && review ? (
          <>
            <p class="hint pad">Questions from attendees wait here until you approve them.</p>
            {qa.pending.length === 0 && !qa.pendingLoading && <p class="empty-note">Nothing to review.</p>}
            <ol class="qa-list" aria-label="Questions to review">
              {qa.pending.map((q) => <QuestionItem key={String(q.id)} q={q} store={store} me={me} moderator />)}
            </ol>
            {qa.pendingLoading && <p class="empty-note" role="status">Loading…</p>}
            {qa.pendingHasMore && !qa.pendingLoading && (
              <div class="show-more"><button type="button" class="btn small" onClick={() => void store.loadPendingQuestions(true)}>Load more</button></div>
            )}
          </>
        ) : (
          <>
            <AskForm store={store} roomId={qa.roomId} reviewed={!!room.qa_moderation && !moderator} />
            <div class="qa-sort" role="group" aria-label="Sort questions">
              <span class="qa-sort-label" aria-hidden="true">Sort:</span>
              <button type="button" class={qa.sort === 'votes' ? 'chip active' : 'chip'} aria-pressed={qa.sort === 'votes'} onClick={() => setSort('votes')}>Most votes</button>
              <button type="button" class={qa.sort === 'time' ? 'chip active' : 'chip'} aria-pressed={qa.sort === 'time'} onClick={() => setSort('time')}>Newest</button>
            </div>
            {pinned && (
              <section class="now-answering" aria-labelledby="qa-now">
                <h3 class="group-title" id="qa-now"><Icon name="pin" size={13} /> Now answering</h3>
                <ol class="qa-list"><QuestionItem q={pinned} store={store} me={me} moderator={moderator} /></ol>
              </section>
            )}
            {qa.error && <p class="form-error pad" role="alert">{qa.error}</p>}
            {!qa.loading && qa.questions.length === 0 && !qa.error && <p class="empty-note">No questions yet. Ask the first one!</p>}
            <ol class="qa-list" aria-label={qa.sort === 'votes' ? 'Questions, most votes first' : 'Questions, newest first'}>
              {rest.map((q) => <QuestionItem key={String(q.id)} q={q} store={store} me={me} moderator={moderator} />)}
            </ol>
            {qa.loading && <p class="empty-note" role="status">Loading questions…</p>}
            {qa.hasMore && !qa.loading && (
              <div class="show-more"><button type="button" class="btn small" onClick={() => void store.loadMoreQuestions()}>Load more questions</button></div>
            )}
          </>
        )}
      </div>
    </section>
  );
}

function AskForm({ store, roomId, reviewed }: { store: Store; roomId: QaState['roomId']; reviewed: boolean }) {
  const [text, setText] = useState('');
  const [anonymous, setAnonymous] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const content = text.trim();
    if (!content || content.length > MAX_QUESTION) return;
    setBusy(true);
    setError(null);
    try {
      const q = await store.ask(roomId, content, anonymous);
      setText('');
      setNote(q.status === 'pending' ? 'Sent: it shows to everyone once a moderator approves it.' : 'Question posted.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ask-form" onSubmit={submit}>
      <label for="qa-ask">Ask a question</label>
      <textarea id="qa-ask" rows={2} maxLength={MAX_QUESTION} value={text} aria-describedby="qa-ask-hint"
        onInput={(e) => { setText(e.currentTarget.value); setNote(''); }}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(e); }} />
      <p class="hint" id="qa-ask-hint">{text.length}/{MAX_QUESTION}{reviewed ? ' · moderators review questions before they are shown' : ''}</p>
      <div class="ask-row">
        <label class="check"><input type="checkbox" checked={anonymous} onChange={(e) => setAnonymous(e.currentTarget.checked)} /> Ask anonymously</label>
        <button type="submit" class="btn primary small" disabled={busy || !text.trim()}>{busy ? 'Asking…' : 'Ask'}</button>
      </div>
      {error && <p class="form-error" role="alert">{error}</p>}
      <p class="sr-only" role="status">{note}</p>
      {note && <p class="hint" aria-hidden="true">{note}</p>}
    </form>
  );
}

function QuestionItem({ q, store, me, moderator }: { q: Question; store: Store; me: User; moderator: boolean }) {
  const mine = !!q.author && sameId(q.author.id, me.id);
  const who = q.author ? (mine ? 'You' : displayName(q.author)) : 'Anonymous';
  const textId = `q-text-${q.id}`;
  const pending = q.status === 'pending';
  const cls = ['question', q.answered && 'answered', q.pinned && 'pinned', pending && 'pending'].filter(Boolean).join(' ');
  return (
    <li class={cls} data-qid={String(q.id)}>
      <button type="button" class={q.voted ? 'vote voted' : 'vote'} aria-pressed={!!q.voted} disabled={pending}
        aria-label={`Vote, ${q.vote_count} ${q.vote_count === 1 ? 'vote' : 'votes'}`} aria-describedby={textId}
        onClick={() => void store.questionAction(q, 'vote')}>
        <Icon name="up" size={16} />
        <span class="vote-count" aria-hidden="true">{q.vote_count}</span>
      </button>
      <div class="q-main">
        <p class="q-text" id={textId}>{q.content}</p>
        <p class="q-meta">
          <span>{who}{q.anonymous && q.author ? ' (anonymous)' : ''}</span>
          <span aria-hidden="true"> · </span>
          <time dateTime={q.created_at} title={fullTime(q.created_at)}>{shortAgo(q.created_at)}</time>
          {pending && <span class="tag warn">Awaiting review</span>}
          {q.pinned && <span class="tag pin-tag">Now answering</span>}
          {q.answered && <span class="tag ok">Answered</span>}
        </p>
        {moderator && (
          <div class="q-actions" role="group" aria-label="Moderate question">
            {pending ? (
              <button type="button" class="btn small primary" onClick={() => void store.questionAction(q, 'approve')}><Icon name="check" size={14} />Approve</button>
            ) : (
              <>
                <button type="button" class={q.answered ? 'btn small active' : 'btn small'} aria-pressed={q.answered} title="Mark as answered"
                  onClick={() => void store.questionAction(q, 'answer', !q.answered)}>
                  <Icon name="check" size={14} />Answered
                </button>
                <button type="button" class={q.pinned ? 'btn small active' : 'btn small'} aria-pressed={q.pinned} title="Pin at the top as the question being answered"
                  onClick={() => void store.questionAction(q, 'pin', !q.pinned)}>
                  <Icon name="pin" size={14} />Now answering
                </button>
              </>
            )}
            <button type="button" class="btn small" onClick={() => void store.questionAction(q, 'hide')}><Icon name="hide" size={14} />Hide</button>
          </div>
        )}
      </div>
    </li>
  );
}
