// Shapes of the server's JSON (SPEC §10, docs/realtime.md). Ids are opaque on the wire;
// this server sends numbers.
export type Id = number;

export interface User {
  id: Id;
  username: string;
  display_name: string;
  role: 'user' | 'admin';
}

export type RoomType = 'event' | 'private' | 'group' | 'support' | 'general';
export type ParticipantRole = 'owner' | 'moderator' | 'member';

export interface Room {
  id: Id;
  type: RoomType;
  name: string;
  description: string;
  is_public: boolean;
  allow_files: boolean;
  allow_voice: boolean;
  moderation_enabled: boolean;
  event_id: Id | null;
  created_by: Id | null;
  created_at: string;
  is_direct?: boolean;
  participant_count?: number;
  qa_enabled?: boolean;
  qa_moderation?: boolean;
  posting?: 'everyone' | 'moderators' | string;
  slow_mode_seconds?: number;
}

export interface RoomListEntry extends Room {
  unread_count: number;
  mention_count: number;
  last_message: Message | null;
  my_role: ParticipantRole;
  direct_with: User | null;
  /** Unread announcements (event_update messages). */
  announcement_count?: number;
}

export type PresenceStatus = 'online' | 'away' | 'busy' | 'invisible' | 'offline';

export interface Presence {
  status: PresenceStatus | string;
  custom_message: string | null;
  last_active_at: string | null;
}

export interface Participant {
  user: User;
  role: ParticipantRole;
  joined_at: string;
  muted_until: string | null;
  presence: Presence;
}

export interface Reaction {
  emoji: string;
  count: number;
  me?: boolean;
}

export interface PollOption {
  text: string;
  votes: number;
}

export interface Poll {
  question: string;
  options: PollOption[];
  multiple: boolean;
  closes_at: string | null;
  closed: boolean;
  my_votes?: number[] | null;
}

export type AttachmentCategory = 'image' | 'file' | 'audio' | 'video';

export interface Attachment {
  id: Id;
  name: string;
  mime: string;
  size: number;
  category: AttachmentCategory | string;
  sha256?: string;
  /** Images only; null when unknown. */
  width?: number | null;
  height?: number | null;
  has_thumbnail: boolean;
  thumbnail_width?: number | null;
  thumbnail_height?: number | null;
  /** RFC 3339, or null for files that never expire. */
  expires_at: string | null;
  expired?: boolean;
  download_count: number;
  /** Same origin; the session cookie authenticates it. */
  download_url: string;
  thumbnail_url?: string | null;
}

export type MessageType = 'text' | 'image' | 'file' | 'audio' | 'video' | 'system' | 'poll' | 'event_update';

export interface Message {
  id: Id;
  room_id: Id;
  seq: number;
  sender: User | null;
  type: MessageType;
  content: string | null;
  reply_to: Id | null;
  mentions: User[];
  attachments: Attachment[];
  reactions: Reaction[];
  poll: Poll | null;
  client_id?: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

export interface Notification {
  id: Id;
  kind: string;
  room_id: Id;
  message_id: Id | null;
  actor: User;
  created_at: string;
  read_at: string | null;
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

export interface OpenedRoom {
  room: Room;
  participants: Participant[];
  participant_count?: number;
  online_count?: number;
  messages: Message[];
  has_more: boolean;
  updates?: Message[];
}

export interface ParticipantPage {
  participants: Participant[];
  participant_count: number;
  online_count: number;
  has_more: boolean;
  next_cursor: string | null;
}

/** presence_updated; older servers nested the fields under `presence`. */
export interface PresenceUpdate {
  user_id: Id;
  status?: string;
  custom_message?: string | null;
  last_active_at?: string | null;
  presence?: Presence;
}

export interface TypingEvent {
  room_id: Id;
  user: User;
}

export type Permission = 'delete_messages' | 'mute' | 'kick' | 'ban' | 'manage_room' | 'manage_moderators';

export interface ModeratorEntry {
  user: User;
  role: ParticipantRole;
  permissions: Permission[];
}

/** user_muted, user_unmuted, user_kicked, user_banned, user_unbanned and the answers to the actions. */
export interface ModerationEvent {
  room_id: Id;
  user: User;
  actor: User | null;
  /** RFC 3339; null on a mute or ban without end (and on unmute, kick, unban). */
  until: string | null;
  reason: string | null;
}

export interface ModerationLogEntry {
  id: Id;
  room_id: Id;
  actor: User | null;
  action: string;
  target: User | null;
  message_id: Id | null;
  reason: string | null;
  duration_seconds: number | null;
  created_at: string;
}

export interface Ban {
  user: User;
  banned_by: User | null;
  reason: string | null;
  until: string | null;
  created_at: string;
}

export type QuestionStatus = 'pending' | 'approved' | 'hidden';

export interface Question {
  id: Id;
  room_id: Id;
  author: User | null;
  anonymous: boolean;
  content: string;
  status: QuestionStatus;
  vote_count: number;
  /** Only in answers to the caller, never in broadcasts. */
  voted?: boolean;
  answered: boolean;
  answered_at: string | null;
  pinned: boolean;
  created_at: string;
}

export interface QuestionPage {
  questions: Question[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface Pin {
  message_id: Id;
  room_id: Id;
  pinned_by: User | null;
  pinned_at: string;
  message: Message;
}

export interface ReactionUpdate {
  message_id: Id;
  room_id: Id;
  emoji: string;
  user_id: Id;
  reactions: Reaction[];
}

export interface PollUpdate {
  message_id: Id;
  room_id: Id;
  poll: Poll;
}

export interface ReadState {
  room_id: Id;
  last_read_message_id: Id | null;
  unread_count: number;
  mention_count: number;
}

export type NotificationLevel = 'all' | 'mentions' | 'none';

/** PUT /api/chat/rooms/:id/preferences answer. */
export interface RoomPreferences {
  room_id: Id;
  notifications: NotificationLevel;
  sound: boolean;
}

/** One earlier text of an edited message. */
export interface MessageVersion {
  content: string;
  /** When this text was replaced (RFC 3339). */
  replaced_at: string;
  reason?: string | null;
}

export interface EditHistory {
  message_id?: Id;
  versions: MessageVersion[];
}
