/*
 * EmoHeal web page: turns a person's words into a three-stage music session
 * (match → guide → target) using the same-origin API described in serving/API.md.
 *
 * Plain ES2020, no framework, no build step.
 * Safety rules followed throughout:
 *  - every string from the server is written with textContent / text nodes, never innerHTML;
 *  - the person's text is never put in a URL, in storage, or in the console;
 *  - media only ever starts after a user gesture (the Play button or a player's own controls).
 */
'use strict';

(() => {
  // ---------------------------------------------------------------------------
  // Settings and fixed texts
  // ---------------------------------------------------------------------------

  const MAX_CHARS = 2000;
  const GOALS = ['sleep', 'calm', 'uplift'];
  const TICK_MS = 250;             // how often the player follows the session's position
  const REQUEST_TIMEOUT_MS = 90000;
  const EMOTION_MIN = 0.05;        // smallest probability shown in the chart
  const EMOTION_MAX_BARS = 6;

  const STAGE_TITLES = { match: 'Meet you where you are', guide: 'Guide', target: 'Settle' };
  const CALMER_QUESTION = {
    sleep: 'I feel calmer / readier for sleep',
    calm: 'I feel calmer',
    uplift: 'I feel better',
  };
  const PLAY_LABELS = {
    idle: 'Play the session',
    running: 'Pause the session',
    paused: 'Resume the session',
    done: 'Play the session again',
  };
  const MSG = {
    empty: 'Please write a few words about how you feel first.',
    network: "We couldn't reach EmoHeal. Please check your connection and try again.",
    timeout: 'EmoHeal is taking too long to answer. Please try again in a moment.',
    badResponse: 'EmoHeal sent an answer we could not read. Please try again.',
    unexpected: 'Something went wrong while showing your session. Please try again.',
    noStages: "We couldn't build a session from that text. Try describing how you feel in a few more words.",
    crisisDefault: 'It sounds like things are really hard right now. Please reach out to someone who can help.',
    checkInDefault: 'Before the music starts: are you thinking about harming yourself or ending your life right now?',
    noSession: 'Feedback cannot be saved for this session.',
    chooseRating: 'Please choose a number from 1 to 5 first.',
    sending: 'Sending…',
    ratingSaved: 'Thanks — saved.',
    studySaved: 'Thank you for telling us.',
    noMusic: 'Sorry — no music found for this stage.',
    mediaError: "This music couldn't be loaded.",
    blocked: 'Your browser blocked playback. Press “Resume the session” to continue.',
    noPlayable: 'There is no music to play in this session.',
    streamFallback: 'Playing track by track (the continuous stream could not be loaded).',
    noStorage: 'This browser keeps no data for this page, so ratings and history are off.',
    forgotten: 'Done: your sessions and ratings are erased, and this browser no longer holds a key.',
    forgetConfirm: 'Erase your sessions, ratings and what they taught EmoHeal? This cannot be undone.',
  };
  const TOKEN_KEY = 'emoheal.profile-token';
  const HISTORY_SHOWN = 8;

  // ---------------------------------------------------------------------------
  // Small DOM helpers
  // ---------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  const el = {
    form: $('mood-form'),
    text: $('mood-text'),
    count: $('char-count'),
    goal: $('goal'),
    start: $('start'),
    error: $('error'),
    notice: $('notice'),
    crisis: $('crisis'),
    crisisTitle: $('crisis-title'),
    crisisMessage: $('crisis-message'),
    crisisResources: $('crisis-resources'),
    checkIn: $('check-in'),
    checkInTitle: $('check-in-title'),
    checkInQuestion: $('check-in-question'),
    checkInYes: $('check-in-yes'),
    checkInNo: $('check-in-no'),
    checkInResources: $('check-in-resources'),
    emotions: $('emotions'),
    emotionsTitle: $('emotions-title'),
    chart: $('emotion-chart'),
    truncated: $('emotions-truncated'),
    prelude: $('prelude'),
    explanation: $('explanation'),
    explanationText: $('explanation-text'),
    personalisation: $('personalisation'),
    player: $('player'),
    play: $('play-session'),
    next: $('next-stage'),
    playerStatus: $('player-status'),
    playerClock: $('player-clock'),
    sessionAudio: $('session-audio'),
    journey: $('journey'),
    journeyChart: $('journey-chart'),
    nowPlaying: $('now-playing'),
    mediaStatus: $('media-status'),
    stages: $('stages'),
    stagesTitle: $('stages-title'),
    stageList: $('stage-list'),
    epilogue: $('epilogue'),
    study: $('study'),
    studyTitle: $('study-title'),
    calmerLegend: $('calmer-legend'),
    sendStudy: $('send-study'),
    studyStatus: $('study-status'),
    yours: $('yours'),
    historyList: $('history-list'),
    historyChart: $('history-chart'),
    historyStatus: $('history-status'),
    exportData: $('export-data'),
    forgetMe: $('forget-me'),
  };

  /**
   * Create an element. `attrs` values of null/undefined/false are skipped, `true` sets a
   * boolean attribute; children may be nodes or strings (strings become text nodes, so
   * server data is never parsed as HTML).
   */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false || child === '') continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** A server value as display text ('' for anything that is not a string or number). */
  function str(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return '';
  }

  /** Put text in an element and hide the element while the text is empty. */
  function setText(node, text) {
    node.textContent = text || '';
    node.hidden = !text;
  }

  /** A URL from the server, kept only when it points at this same origin (no other requests). */
  function sameOriginUrl(value) {
    const url = str(value);
    if (!url) return null;
    try {
      return new URL(url, window.location.href).origin === window.location.origin ? url : null;
    } catch (_) {
      return null;
    }
  }

  /** An external http(s) link (used only for crisis resources' websites, never fetched). */
  function externalUrl(value) {
    try {
      const url = new URL(str(value));
      return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
    } catch (_) {
      return null;
    }
  }

  const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
  const now = () => performance.now();
  const prefersReducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  /** 0.834 → "83%" (very small non-zero values read "<1%"). */
  function percent(p) {
    const value = Math.round(clamp(p, 0, 1) * 100);
    return value === 0 && p > 0 ? '<1%' : `${value}%`;
  }

  /** 5 → "5 min", 2.54 → "2.5 min". */
  function formatMinutes(minutes) {
    return `${Math.round(minutes * 10) / 10} min`;
  }

  /** 83500 → "1:23". */
  function formatClock(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }

  /** Scroll to an element, smoothly unless the person prefers reduced motion. */
  function scrollToNode(node) {
    node.scrollIntoView({ behavior: prefersReducedMotion() ? 'auto' : 'smooth', block: 'start' });
  }

  // ---------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------

  /** An error whose message is safe and friendly enough to show to the person. */
  class ApiError extends Error {
    constructor(message, status = 0, code = null) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
    }
  }

  /**
   * The anonymous profile this browser keeps: only an opaque key (the server stores its hash),
   * in localStorage, sent as `Authorization: Bearer`. No name, no text.
   */
  const profile = {
    get() {
      try {
        return window.localStorage.getItem(TOKEN_KEY);
      } catch (_) {
        return null;
      }
    },
    set(token) {
      try {
        if (token) window.localStorage.setItem(TOKEN_KEY, token);
        else window.localStorage.removeItem(TOKEN_KEY);
        return true;
      } catch (_) {
        return false;
      }
    },
    /** The key, created on first need; null where this browser keeps nothing. */
    async ensure() {
      const known = profile.get();
      if (known) return known;
      if (!profile.set('probe')) return null;
      profile.set(null);
      const created = await api.send('POST', '/users');
      if (!created || typeof created.token !== 'string') throw new ApiError(MSG.badResponse);
      profile.set(created.token);
      return created.token;
    },
  };

  const api = {
    /** POST JSON with this browser's key (created first when there is none). */
    async post(path, payload) {
      const token = await profile.ensure();
      try {
        return await api.send('POST', path, payload, token);
      } catch (err) {
        // a key the server no longer knows (erased, or past the retention window): a new one, once
        if (!(err instanceof ApiError) || err.status !== 401 || !token || path !== '/session') throw err;
        profile.set(null);
        return api.send('POST', path, payload, await profile.ensure());
      }
    },

    /**
     * A same-origin request. Resolves with the parsed body on 2xx; otherwise rejects with an
     * ApiError carrying `body.error.message` or a friendly fallback.
     */
    async send(method, path, payload = undefined, token = null) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      const headers = { Accept: 'application/json' };
      if (payload !== undefined) headers['Content-Type'] = 'application/json';
      if (token) headers.Authorization = `Bearer ${token}`;
      try {
        let response;
        try {
          response = await fetch(path, {
            method,
            headers,
            body: payload === undefined ? undefined : JSON.stringify(payload),
            credentials: 'same-origin',
            cache: 'no-store',
            signal: controller.signal,
          });
        } catch (err) {
          throw new ApiError(err && err.name === 'AbortError' ? MSG.timeout : MSG.network);
        }
        const body = await api.readJson(response);
        if (!response.ok) {
          const error = body && body.error;
          const message = error && str(error.message);
          throw new ApiError(
            message || `Something went wrong (error ${response.status}). Please try again.`,
            response.status,
            error ? str(error.code) : null,
          );
        }
        if (!body || typeof body !== 'object') throw new ApiError(MSG.badResponse, response.status);
        return body;
      } finally {
        clearTimeout(timer);
      }
    },

    /** The response body as JSON, or null when it is not JSON. */
    async readJson(response) {
      try {
        return await response.json();
      } catch (_) {
        return null;
      }
    },
  };

  // ---------------------------------------------------------------------------
  // Page state
  // ---------------------------------------------------------------------------

  const state = {
    sessionId: null,
    goal: 'sleep',
    busy: false,
    // Bumped on every new submission; late answers from an older session are ignored.
    generation: 0,
    // While a check-in question is open: the request to resend with the answer (memory only).
    pending: null,
  };

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  /** Up to 6 emotions with probability ≥ 0.05, highest first; always at least the top one. */
  function topEmotions(probabilities) {
    const entries = Object.entries(probabilities || {})
      .filter(([, p]) => typeof p === 'number' && Number.isFinite(p))
      .sort((a, b) => b[1] - a[1]);
    const picked = entries.filter(([, p]) => p >= EMOTION_MIN).slice(0, EMOTION_MAX_BARS);
    if (picked.length === 0 && entries.length > 0) picked.push(entries[0]);
    return picked.map(([label, probability]) => ({ label, probability }));
  }

  /** One crisis resource as a list item (phone numbers become tel: links). */
  function resourceItem(resource) {
    const name = str(resource.name);
    const contact = str(resource.contact).trim();
    const how = str(resource.how);
    const hours = str(resource.hours);
    const site = externalUrl(resource.source);

    const item = h('li', { class: 'resource' });
    if (name) item.append(h('p', { class: 'resource-name' }, name));
    if (contact) {
      const isPhone = /^\+?\d[\d ]*$/.test(contact);
      item.append(h('p', { class: 'resource-contact' },
        isPhone ? h('a', { href: `tel:${contact.replace(/ /g, '')}` }, contact) : contact));
    }
    if (how) item.append(h('p', { class: 'resource-how' }, how));
    if (hours) item.append(h('p', { class: 'resource-hours' }, 'Hours: ', hours));
    if (site) {
      item.append(h('p', { class: 'resource-source' },
        h('a', { href: site.href, rel: 'noopener noreferrer' }, `Website: ${site.hostname}`)));
    }
    return item;
  }

  /** One horizontal bar of the emotion chart. */
  function emotionBar({ label, probability }) {
    const fill = h('span', { class: 'emotion-fill' });
    fill.style.width = `${clamp(probability, 0, 1) * 100}%`;
    return h('li', { class: 'emotion-bar', 'data-label': label },
      h('span', { class: 'emotion-name' }, label),
      h('span', { class: 'emotion-track', 'aria-hidden': 'true' }, fill),
      h('span', { class: 'emotion-value' }, percent(probability)));
  }

  /** "14 pieces · tempo easing from about 92 to 64 BPM · keys C major, A minor" from the stage's sequence. */
  function musicSummary(sequence) {
    if (!sequence || typeof sequence !== 'object') return '';
    const parts = [];
    const count = Number(sequence.tracks);
    if (count > 0) parts.push(count === 1 ? 'one piece' : `${count} pieces`);
    const felt = Array.isArray(sequence.felt_tempo_bpm) ? sequence.felt_tempo_bpm.map(Number) : [];
    if (felt.length === 2 && felt.every(Number.isFinite)) {
      const [from, to] = felt.map(Math.round);
      if (Math.abs(to - from) < 0.08 * from) parts.push(`tempo around ${to} BPM`);
      else parts.push(`tempo ${to < from ? 'easing' : 'lifting'} from about ${from} to ${to} BPM`);
    }
    const keys = Array.isArray(sequence.keys) ? sequence.keys.map(str).filter(Boolean) : [];
    if (keys.length) parts.push(`${keys.length === 1 ? 'key' : 'keys'} ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}`);
    const sounds = Array.isArray(sequence.sounds) ? sequence.sounds.map(str).filter(Boolean) : [];
    if (sounds.length) parts.push(sounds.join(' and '));  // what the tracks are, e.g. "solo piano"
    return parts.join(' · ');
  }

  /** The stage's tracks as a list (title and when it starts); the player marks the one playing. */
  function trackList(tracks) {
    const list = h('ol', { class: 'track-list' });
    const items = [];
    for (const track of tracks) {
      const at = Number(track.at_s);
      const li = h('li', { class: 'track', 'data-item': str(track.item_id), 'data-at': at },
        h('span', { class: 'track-time' }, formatClock(at * 1000)), ' ',
        h('span', { class: 'track-title' }, str(track.title) || 'untitled'));
      list.append(li);
      items.push({ ...track, node: li });
    }
    return { list, items };
  }

  /** The per-stage rating: five radios, a Send button and a status line. */
  function ratingBlock(stageName, groupName) {
    const inputs = [];
    const scale = h('div', { class: 'scale' });
    for (let n = 1; n <= 5; n += 1) {
      const id = `${groupName}-${n}`;
      const input = h('input', { type: 'radio', id, name: groupName, value: n });
      const hint = n === 1 ? 'not at all' : n === 5 ? 'very much' : null;
      inputs.push(input);
      scale.append(h('div', { class: 'choice' },
        input,
        h('label', { for: id }, String(n), hint ? ' ' : null, hint ? h('span', { class: 'hint' }, hint) : null)));
    }
    const button = h('button', { class: 'send-rating button button-secondary', type: 'button' }, 'Send');
    const status = h('span', { class: 'rating-status status-text', role: 'status' });
    button.addEventListener('click', () => sendRating(stageName, inputs, button, status));

    return h('fieldset', { class: 'rating scale-group' },
      h('legend', {}, 'How did this part feel?'),
      scale,
      h('div', { class: 'rating-actions' }, button, status));
  }

  /** One stage card: what the music does and why, in plain words; its tracks; the technical details one click away. */
  function stageCard(stage, position, usedGroupNames) {
    const name = str(stage.name) || `stage-${position}`;
    const title = STAGE_TITLES[name] || name;
    const minutes = typeof stage.minutes === 'number' && stage.minutes > 0 ? stage.minutes : null;
    const tracks = Array.isArray(stage.tracks) ? stage.tracks.filter((t) => t && typeof t === 'object') : [];
    const headingId = `stage-${position}-title`;

    const card = h('article', { class: 'stage-card', 'data-stage': name, 'aria-labelledby': headingId });
    card.append(
      h('h3', { id: headingId }, `${position} · ${title} `, h('span', { class: 'stage-name' }, `(${name})`),
        minutes ? h('span', { class: 'item-minutes' }, ` · ${formatMinutes(minutes)}`) : null),
      h('p', { class: 'narrative' }, str(stage.narrative)),
    );
    let list = { items: [] };
    if (tracks.length) {
      card.append(h('p', { class: 'music' }, h('strong', {}, 'The music: '), musicSummary(stage.sequence)));
      list = trackList(tracks);
      card.append(list.list);
    } else {
      card.append(h('p', { class: 'no-music' }, str(stage.reason) || MSG.noMusic));
    }
    card.append(h('details', { class: 'technical' },
      h('summary', {}, 'Why this music (details)'),
      h('p', { class: 'what' }, h('strong', {}, 'What the plan asked for:'), ' ', str(stage.what)),
      h('p', { class: 'why' }, h('strong', {}, 'Why:'), ' ', str(stage.why))));

    // Radio group names must be unique per stage.
    let groupName = `rating-${name.replace(/[^A-Za-z0-9_-]/g, '') || position}`;
    if (usedGroupNames.has(groupName)) groupName = `${groupName}-${position}`;
    usedGroupNames.add(groupName);
    card.append(ratingBlock(name, groupName));
    const start = list.items.length ? Number(list.items[0].at_s) : (Number(stage.start_minute) || 0) * 60;
    return { name, title, position, card, tracks: list.items, start };
  }

  /** The plan's curve (tempo and arousal over minutes) as an SVG, with a cursor the player moves. */
  function journeyChart(timeline) {
    const svg = el.journeyChart;        // an <svg> in the page: its namespace comes from the HTML parser
    const NS = svg.namespaceURI;
    svg.replaceChildren();
    const path = Array.isArray(timeline.path) ? timeline.path.filter((w) => w && typeof w === 'object') : [];
    const total = Math.max(Number(timeline.filled_s) || 0, Number(timeline.requested_s) || 0, 1) / 60;
    const W = 320;
    const H = 90;
    const tempos = path.map((w) => Number(w.tempo_bpm)).filter(Number.isFinite);
    const lo = Math.min(...tempos, 40);
    const hi = Math.max(...tempos, 120);
    const x = (minute) => (clamp(minute / total, 0, 1) * (W - 8)) + 4;
    const yTempo = (bpm) => H - 6 - ((bpm - lo) / Math.max(hi - lo, 1)) * (H - 14);
    const yArousal = (a) => H - 6 - ((clamp(a, -1, 1) + 1) / 2) * (H - 14);
    const line = (points, cls) => {
      const node = document.createElementNS(NS, 'polyline');
      node.setAttribute('points', points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '));
      node.setAttribute('class', cls);
      svg.append(node);
    };
    line(path.map((w) => [x(Number(w.minute)), yTempo(Number(w.tempo_bpm))]), 'curve-tempo');
    line(path.map((w) => [x(Number(w.minute)), yArousal(Number(w.arousal))]), 'curve-arousal');
    const cursor = document.createElementNS(NS, 'line');
    cursor.setAttribute('class', 'journey-cursor');
    cursor.setAttribute('y1', '2');
    cursor.setAttribute('y2', String(H - 2));
    svg.append(cursor);
    const first = tempos.length ? Math.round(tempos[0]) : null;
    const last = tempos.length ? Math.round(tempos[tempos.length - 1]) : null;
    svg.setAttribute('aria-label', first === null ? 'The session plan'
      : `The plan: tempo from about ${first} to ${last} BPM over ${Math.round(total)} minutes, calming as it goes`);
    return {
      svg,
      move(seconds) {
        const px = x(seconds / 60).toFixed(1);
        cursor.setAttribute('x1', px);
        cursor.setAttribute('x2', px);
      },
    };
  }

  const render = {
    /** Show an error message in #error, or hide it when the message is empty. */
    error(message) {
      setText(el.error, message);
    },

    /** Show the notice that explains why there is no session. */
    notice(message) {
      setText(el.notice, message);
    },

    /** Show the support message and resources. */
    crisis(safety) {
      el.crisisMessage.textContent = str(safety.message) || MSG.crisisDefault;
      const resources = Array.isArray(safety.resources) ? safety.resources.filter((r) => r && typeof r === 'object') : [];
      el.crisisResources.replaceChildren(...resources.map(resourceItem));
      el.crisisResources.hidden = resources.length === 0;
      el.crisis.hidden = false;
    },

    /** The check-in question with its two answers, and the resources beside it (no music yet). */
    checkIn(safety) {
      const checkIn = safety.check_in && typeof safety.check_in === 'object' ? safety.check_in : {};
      el.checkInQuestion.textContent = str(checkIn.question) || MSG.checkInDefault;
      const answers = Array.isArray(checkIn.answers) ? checkIn.answers : [];
      for (const [button, value] of [[el.checkInYes, 'yes'], [el.checkInNo, 'no']]) {
        const answer = answers.find((a) => a && a.value === value);
        if (answer && str(answer.label)) button.textContent = str(answer.label);
        button.disabled = false;
      }
      const resources = Array.isArray(safety.resources) ? safety.resources.filter((r) => r && typeof r === 'object') : [];
      el.checkInResources.replaceChildren(...resources.map(resourceItem));
      el.checkInResources.hidden = resources.length === 0;
      el.checkIn.hidden = false;
    },

    /** Draw the bar chart of the top emotions; hides the section when there are none. */
    emotions(emotions) {
      const top = topEmotions(emotions && emotions.probabilities);
      if (top.length === 0) {
        el.emotions.hidden = true;
        return false;
      }
      const summary = top.map((e) => `${e.label} ${percent(e.probability)}`).join(', ');
      el.chart.setAttribute('aria-label', `Emotions we heard: ${summary}`);
      el.chart.replaceChildren(...top.map(emotionBar));
      el.truncated.hidden = !(emotions && emotions.truncated === true);
      el.emotions.hidden = false;
      return true;
    },

    /** Prelude above the stages, the "why this plan" line, personalisation and epilogue. */
    context(data) {
      setText(el.prelude, str(data.prelude));
      const explanation = str(data.explanation);
      el.explanationText.textContent = explanation;
      el.explanation.hidden = !explanation;
      setText(el.personalisation, str(data.personalisation));
      setText(el.epilogue, str(data.epilogue));
    },

    /** Build one card per stage, in order. Returns the player's tracks. */
    stages(stages) {
      const used = new Set();
      const tracks = stages.map((stage, i) => stageCard(stage || {}, i + 1, used));
      el.stageList.replaceChildren(...tracks.map((t) => t.card));
      el.stages.hidden = false;
      return tracks;
    },

    /** Show the study questions, worded for the goal. */
    study(goal) {
      el.calmerLegend.textContent = CALMER_QUESTION[goal] || CALMER_QUESTION.sleep;
      el.studyStatus.textContent = '';
      el.study.hidden = false;
    },
  };

  // ---------------------------------------------------------------------------
  // Player: match → guide → target, each looping for its planned minutes, with
  // a ~3 s cross-fade between stages. States: idle, running, paused, done.
  // ---------------------------------------------------------------------------

  const player = {
    stages: [],          // [{name, title, position, card, tracks: [{at_s, duration_s, fade_in_s, ..., node}], start}]
    tracks: [],          // every track in session order
    timeline: null,
    chart: null,
    mode: 'stream',      // 'stream': the server's mix in one element; 'decks': track by track (the fallback)
    state: 'idle',       // idle, running, paused, done
    decks: [],           // the fallback's two alternating <audio> elements
    deckTrack: [null, null],
    clockS: 0,           // the session position in decks mode (the stream's is its currentTime)
    lastTick: 0,
    tickTimer: null,
    failed: new Set(),   // tracks whose file failed (decks mode): skipped, their time kept
    onFinish: null,

    /** Take over a new session's stages and timeline. */
    load(stages, timeline, onFinish) {
      this.unload();
      this.stages = stages;
      this.tracks = stages.flatMap((st) => st.tracks.map((t) => ({ ...t, stage: st })));
      this.timeline = timeline && typeof timeline === 'object' ? timeline : null;
      this.onFinish = onFinish;
      const mix = this.timeline ? sameOriginUrl(this.timeline.mix_url) : null;
      el.player.hidden = false;
      if (!mix || this.tracks.length === 0) {
        el.sessionAudio.removeAttribute('src');
        this.announce(MSG.noPlayable);
        this.updateUi();
        return;
      }
      this.mode = 'stream';
      el.player.dataset.filledS = String(Number(this.timeline.filled_s) || 0);
      el.sessionAudio.src = `${mix}?format=ogg`;
      el.sessionAudio.load();
      this.chart = journeyChart(this.timeline);
      el.journey.hidden = false;
      this.announce(this.timeline.reason ? `This session is shorter than asked: ${str(this.timeline.reason)}.` : '');
      this.updateUi();
    },

    /** Stop everything and forget the session (used before a new one). */
    unload() {
      this.stop();
      this.stages = [];
      this.tracks = [];
      this.timeline = null;
      this.onFinish = null;
      this.failed = new Set();
      el.sessionAudio.removeAttribute('src');
      el.journey.hidden = true;
      el.journeyChart.replaceChildren();
      el.nowPlaying.textContent = '';
      this.announce('');
      el.player.hidden = true;
      this.updateUi();
    },

    /** The Play button: start, pause or resume. */
    toggle() {
      if (this.state === 'running') this.pause();
      else if (this.state === 'paused') this.resume();
      else this.start();
    },

    start() {
      if (!this.tracks.length) return;
      this.seek(0);
      this.state = 'running';
      this.resume();
    },

    pause() {
      if (this.state !== 'running') return;
      this.state = 'paused';
      if (this.mode === 'stream') el.sessionAudio.pause();
      else this.decks.forEach((d) => d.pause());
      this.stopTicking();
      this.updateUi();
      this.announce('Session paused.');
    },

    resume() {
      this.state = 'running';
      if (this.mode === 'stream') {
        const promise = el.sessionAudio.play();
        if (promise && typeof promise.catch === 'function') promise.catch((err) => this.onPlayRejected(err));
      } else {
        this.decks.forEach((d, i) => { if (this.deckTrack[i]) d.play().catch(() => {}); });
      }
      this.startTicking();
      this.updateUi();
    },

    /** The Next button: jump to the start of the next stage. */
    next() {
      const position = this.position();
      const upcoming = this.stages.find((st) => st.tracks.length && st.start > position + 0.5);
      if (!upcoming) {
        this.finish();
        return;
      }
      this.seek(upcoming.start);
      this.render();
    },

    finish() {
      this.state = 'done';
      this.stopTicking();
      el.sessionAudio.pause();
      this.decks.forEach((d) => d.pause());
      this.updateUi();
      this.announce('The session has finished.');
      if (this.onFinish) this.onFinish();
    },

    stop() {
      this.stopTicking();
      this.state = 'idle';
      el.sessionAudio.pause();
      this.decks.forEach((d) => d.pause());
      this.deckTrack = [null, null];
      this.clockS = 0;
      this.updateUi();
    },

    /** Where the session is, in seconds. */
    position() {
      return this.mode === 'stream' ? (el.sessionAudio.currentTime || 0) : this.clockS;
    },

    seek(seconds) {
      if (this.mode === 'stream') {
        try { el.sessionAudio.currentTime = seconds; } catch (_) { /* not seekable yet */ }
      } else {
        this.clockS = seconds;
        this.deckTrack = [null, null];
        this.decks.forEach((d) => d.pause());
      }
    },

    onPlayRejected(err) {
      if (err && err.name === 'AbortError') return;
      if (err && err.name === 'NotAllowedError') {
        this.state = 'paused';
        this.updateUi();
        this.announce(MSG.blocked);
        return;
      }
      this.toDecks();
    },

    /** The stream failed: play track by track on two alternating elements from where it was. */
    toDecks() {
      if (this.mode === 'decks' || !this.tracks.length) return;
      const position = this.position();
      this.mode = 'decks';
      el.sessionAudio.pause();
      if (!this.decks.length) {
        this.decks = [0, 1].map((i) => {
          const deck = h('audio', { class: 'deck', preload: 'auto', 'data-deck': i });
          deck.addEventListener('error', () => this.onDeckError(i));
          el.player.append(deck);
          return deck;
        });
      }
      this.clockS = position;
      this.deckTrack = [null, null];
      this.announce(MSG.streamFallback);
      if (this.state === 'running') this.startTicking();
    },

    /** A track that fails is skipped: its span stays silent and the next one starts on time. */
    onDeckError(i) {
      const track = this.deckTrack[i];
      if (!track) return;
      this.failed.add(track);
      if (track.node) track.node.classList.add('failed');
      this.deckTrack[i] = null;
      el.mediaStatus.textContent = MSG.mediaError;
    },

    startTicking() {
      this.stopTicking();
      this.lastTick = now();
      this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    },

    stopTicking() {
      if (this.tickTimer !== null) clearInterval(this.tickTimer);
      this.tickTimer = null;
    },

    tick() {
      const t = now();
      const dt = (t - this.lastTick) / 1000;
      this.lastTick = t;
      if (this.state !== 'running') return;
      if (this.mode === 'decks') {
        this.clockS += dt;
        this.schedule();
      }
      const end = Number(this.timeline && this.timeline.filled_s) || 0;
      if (this.position() >= end - 0.05 || (this.mode === 'stream' && el.sessionAudio.ended)) {
        this.finish();
        return;
      }
      this.render();
    },

    /** Decks mode: the tracks that should sound now, faded by their timeline fades (equal power). */
    schedule() {
      const position = this.clockS;
      const live = this.tracks.filter((tr) => !this.failed.has(tr) && position >= tr.at_s
        && position < tr.at_s + tr.duration_s);
      live.slice(0, 2).forEach((tr) => {
        let i = this.deckTrack.indexOf(tr);
        if (i === -1) {
          i = this.deckTrack[0] === null || !live.includes(this.deckTrack[0]) ? 0 : 1;
          const deck = this.decks[i];
          this.deckTrack[i] = tr;
          deck.src = sameOriginUrl(tr.audio_url) || '';
          try { deck.currentTime = (Number(tr.start_s) || 0) + position - tr.at_s; } catch (_) { /* from 0 */ }
          deck.play().catch(() => this.onDeckError(i));
        }
        const into = position - tr.at_s;
        const left = tr.at_s + tr.duration_s - position;
        let gain = 1;
        if (tr.fade_in_s > 0 && into < tr.fade_in_s) gain = Math.sin((clamp(into / tr.fade_in_s, 0, 1) * Math.PI) / 2);
        if (tr.fade_out_s > 0 && left < tr.fade_out_s) gain = Math.min(gain, Math.sin((clamp(left / tr.fade_out_s, 0, 1) * Math.PI) / 2));
        setVolume(this.decks[i], gain);
      });
      this.deckTrack.forEach((tr, i) => {
        if (tr && !live.includes(tr)) {
          this.decks[i].pause();
          this.deckTrack[i] = null;
        }
      });
    },

    /** The track playing (the latest started at this position). */
    currentTrack() {
      const position = this.position();
      let found = null;
      for (const tr of this.tracks) if (tr.at_s <= position + 1e-3) found = tr;
      return found;
    },

    render() {
      const track = this.currentTrack();
      const stage = track ? track.stage : null;
      this.stages.forEach((st) => {
        const isCurrent = st === stage && this.state !== 'idle';
        st.card.classList.toggle('playing', isCurrent);
        if (isCurrent) st.card.setAttribute('aria-current', 'step');
        else st.card.removeAttribute('aria-current');
      });
      this.tracks.forEach((tr) => tr.node && tr.node.classList.toggle('playing', tr === track && this.state !== 'idle'));
      if (this.chart) this.chart.move(this.position());
      const total = Number(this.timeline && this.timeline.filled_s) || 0;
      el.playerClock.textContent = this.tracks.length
        ? `${formatClock(this.position() * 1000)} / ${formatClock(total * 1000)}` : '';
      const text = track && this.state !== 'idle'
        ? `Now playing: ${str(track.title) || 'untitled'} (${stage.title}, stage ${stage.position} of ${this.stages.length})`
        : '';
      if (el.nowPlaying.textContent !== text) el.nowPlaying.textContent = text;
    },

    updateUi() {
      el.play.textContent = PLAY_LABELS[this.state];
      el.play.disabled = this.tracks.length === 0;
      el.next.disabled = !(this.state === 'running' || this.state === 'paused');
      this.render();
    },

    announce(message) {
      el.playerStatus.textContent = message;
    },
  };

  /** Set a media element's volume safely (it throws outside 0…1). */
  function setVolume(media, volume) {
    try {
      media.volume = clamp(volume, 0, 1);
    } catch (_) { /* some browsers (iOS) do not allow setting volume */ }
  }

  // ---------------------------------------------------------------------------
  // Feedback
  // ---------------------------------------------------------------------------

  /** Send one stage's rating. */
  async function sendRating(stageName, inputs, button, status) {
    const checked = inputs.find((input) => input.checked);
    if (!checked) {
      status.textContent = MSG.chooseRating;
      return;
    }
    if (!state.sessionId) {
      status.textContent = MSG.noSession;
      return;
    }
    const generation = state.generation;
    button.disabled = true;
    status.textContent = MSG.sending;
    try {
      await api.post('/feedback', { session_id: state.sessionId, stage: stageName, rating: Number(checked.value) });
      if (generation === state.generation) status.textContent = MSG.ratingSaved;
      history.refresh();
    } catch (err) {
      if (generation === state.generation) status.textContent = err instanceof ApiError ? err.message : MSG.network;
    } finally {
      button.disabled = false;
    }
  }

  /** The value 1–5 chosen in one study question, or null. */
  function studyAnswer(name) {
    const group = el.study.elements.namedItem(name);
    const value = group ? Number.parseInt(group.value, 10) : NaN;
    return Number.isInteger(value) ? value : null;
  }

  /** Send the two study answers (or say which one is missing). */
  async function onStudySubmit(event) {
    event.preventDefault();
    const reflected = studyAnswer('reflected');
    const calmer = studyAnswer('calmer');
    if (reflected === null || calmer === null) {
      const missing = [];
      if (reflected === null) missing.push(`“${$('reflected-legend').textContent}”`);
      if (calmer === null) missing.push(`“${el.calmerLegend.textContent}”`);
      el.studyStatus.textContent = missing.length === 2
        ? 'Please answer both questions before sending.'
        : `Please answer ${missing[0]} before sending.`;
      return;
    }
    if (!state.sessionId) {
      el.studyStatus.textContent = MSG.noSession;
      return;
    }
    const generation = state.generation;
    el.sendStudy.disabled = true;
    el.studyStatus.textContent = MSG.sending;
    try {
      await api.post('/feedback', { session_id: state.sessionId, reflected, calmer });
      if (generation === state.generation) el.studyStatus.textContent = MSG.studySaved;
    } catch (err) {
      if (generation === state.generation) el.studyStatus.textContent = err instanceof ApiError ? err.message : MSG.network;
    } finally {
      if (generation === state.generation) el.sendStudy.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------
  // Your sessions: history, a small chart of the ratings, export, erasure
  // ---------------------------------------------------------------------------

  const GOAL_WORDS = { sleep: 'sleep', calm: 'calm', uplift: 'lift my mood' };

  /** The mean of a session's stage ratings, or null when none was given. */
  function meanRating(session) {
    const given = (session.stages || []).map((s) => s.rating).filter((r) => Number.isInteger(r));
    return given.length ? given.reduce((a, b) => a + b, 0) / given.length : null;
  }

  const history = {
    /** Fetch and show this browser's sessions (nothing to show without a key). */
    async refresh() {
      const token = profile.get();
      if (!token) {
        el.yours.hidden = true;
        return;
      }
      try {
        const data = await api.send('GET', `/users/me/history?limit=${HISTORY_SHOWN * 3}`, undefined, token);
        history.show(Array.isArray(data.sessions) ? data.sessions : [], data.retention_days);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          profile.set(null);  // the server no longer knows this key (erased, or past retention)
          el.yours.hidden = true;
        }
      }
    },

    show(sessions, retentionDays) {
      el.yours.hidden = sessions.length === 0;
      const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
      el.historyList.replaceChildren(...sessions.slice(0, HISTORY_SHOWN).map((s) => {
        const rated = (s.stages || []).map((st) => `${STAGE_TITLES[st.stage] || st.stage}: ${
          Number.isInteger(st.rating) ? `${st.rating}/5` : '–'}`).join(' · ');
        return h('li', { class: 'history-item', 'data-session': s.session_id },
          h('span', { class: 'history-when' }, when.format(new Date(s.time * 1000))),
          h('span', { class: 'history-goal' }, GOAL_WORDS[s.goal] || s.goal),
          h('span', { class: 'history-ratings' }, rated));
      }));
      if (Number.isFinite(retentionDays)) {
        el.historyStatus.textContent = `Kept for ${retentionDays} days, then deleted.`;
      }
      history.chart(sessions.slice().reverse());
    },

    /** Mean stage rating per session, oldest to newest (1 at the bottom, 5 at the top). */
    chart(sessions) {
      const svg = el.historyChart;
      const NS = svg.namespaceURI;
      const points = sessions.map(meanRating).map((r, i) => [i, r]).filter(([, r]) => r !== null);
      svg.replaceChildren();
      svg.hidden = points.length === 0;
      if (!points.length) return;
      const x = (i) => 10 + (sessions.length > 1 ? (i / (sessions.length - 1)) * 300 : 150);
      const y = (r) => 80 - ((r - 1) / 4) * 70;
      for (const level of [1, 3, 5]) {
        const rule = document.createElementNS(NS, 'line');
        rule.setAttribute('x1', '10');
        rule.setAttribute('x2', '310');
        rule.setAttribute('y1', String(y(level)));
        rule.setAttribute('y2', String(y(level)));
        rule.setAttribute('class', 'history-rule');
        svg.append(rule);
      }
      const line = document.createElementNS(NS, 'polyline');
      line.setAttribute('points', points.map(([i, r]) => `${x(i).toFixed(1)},${y(r).toFixed(1)}`).join(' '));
      line.setAttribute('class', 'history-line');
      svg.append(line);
      for (const [i, r] of points) {
        const dot = document.createElementNS(NS, 'circle');
        dot.setAttribute('cx', x(i).toFixed(1));
        dot.setAttribute('cy', y(r).toFixed(1));
        dot.setAttribute('r', '3');
        dot.setAttribute('class', 'history-dot');
        svg.append(dot);
      }
      const last = points[points.length - 1][1];
      svg.setAttribute('aria-label', `Your ratings over your last ${points.length} rated session(s): `
        + `the latest averaged ${last.toFixed(1)} out of 5.`);
    },

    /** Everything stored about this browser's profile, as a JSON file download. */
    async download() {
      const token = profile.get();
      if (!token) return;
      try {
        const data = await api.send('GET', '/users/me/export', undefined, token);
        const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
        const link = h('a', { href: URL.createObjectURL(blob), download: 'emoheal-my-data.json' });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      } catch (err) {
        el.historyStatus.textContent = err instanceof ApiError ? err.message : MSG.network;
      }
    },

    /** Erase everything of this profile on the server, then forget the key here. */
    async forget() {
      const token = profile.get();
      if (!token || !window.confirm(MSG.forgetConfirm)) return;
      el.forgetMe.disabled = true;
      try {
        await api.send('DELETE', '/users/me', undefined, token);
        profile.set(null);
        el.historyList.replaceChildren();
        el.historyChart.replaceChildren();
        el.historyStatus.textContent = MSG.forgotten;
      } catch (err) {
        el.historyStatus.textContent = err instanceof ApiError ? err.message : MSG.network;
      } finally {
        el.forgetMe.disabled = false;
      }
    },
  };

  /** When the session's music ends: bring the study questions into view. */
  function onSessionFinished() {
    el.study.hidden = false;
    const active = document.activeElement;
    // Move focus only when it would not pull the person away from something else.
    if (!active || active === document.body || el.player.contains(active)) {
      el.studyTitle.focus({ preventScroll: true });
      scrollToNode(el.study);
    }
  }

  // ---------------------------------------------------------------------------
  // The main form
  // ---------------------------------------------------------------------------

  function updateCount() {
    const length = el.text.value.length;
    el.count.textContent = `${length} / ${MAX_CHARS}`;
    el.count.classList.toggle('near-limit', length >= MAX_CHARS * 0.9);
  }

  function setBusy(busy) {
    state.busy = busy;
    el.start.disabled = busy;
    el.start.textContent = busy ? 'Creating your session…' : 'Create my session';
    el.start.classList.toggle('is-busy', busy);
    el.form.setAttribute('aria-busy', String(busy));
    el.start.setAttribute('aria-busy', String(busy));
  }

  /** Forget the previous session: stop players, clear cards, statuses and the study form. */
  function resetSession() {
    state.generation += 1;
    state.sessionId = null;
    player.unload();
    el.stageList.replaceChildren();
    el.stages.hidden = true;
    el.chart.replaceChildren();
    el.emotions.hidden = true;
    el.truncated.hidden = true;
    el.crisis.hidden = true;
    el.crisisMessage.textContent = '';
    el.crisisResources.replaceChildren();
    el.checkIn.hidden = true;
    el.checkInResources.replaceChildren();
    state.pending = null;
    render.error('');
    render.notice('');
    render.context({});
    el.study.reset();
    el.study.hidden = true;
    el.studyStatus.textContent = '';
    el.sendStudy.disabled = false;
  }

  /** Show a /session response. */
  function showSession(data, requestedGoal) {
    const stages = Array.isArray(data.stages) ? data.stages : [];
    const safety = data.safety && typeof data.safety === 'object' ? data.safety : {};
    const needsSupport = safety.level === 'high' || safety.level === 'medium';
    state.sessionId = str(data.session_id) || null;
    state.goal = GOALS.includes(data.goal) ? data.goal : requestedGoal;

    const checkIn = safety.check_in && typeof safety.check_in === 'object' ? safety.check_in : null;
    if (stages.length === 0 && checkIn && checkIn.answer === null) {
      // The screen is unsure: ask first. The text stays in memory only until the answer is sent.
      render.checkIn(safety);
      el.checkInTitle.focus();
      return;
    }

    if (stages.length === 0) {
      // No music: support information and/or the reason why.
      if (needsSupport) render.crisis(safety);
      const notice = str(data.notice);
      if (notice || !needsSupport) render.notice(notice || MSG.noStages);
      if (needsSupport) el.crisisTitle.focus();
      return;
    }

    // Music, with support information above it if the text still raised a concern.
    if (needsSupport && (str(safety.message) || (Array.isArray(safety.resources) && safety.resources.length))) {
      render.crisis(safety);
    }
    const hasEmotions = render.emotions(data.emotions);
    render.context(data);
    player.load(render.stages(stages), data.timeline, onSessionFinished);
    render.study(state.goal);
    (hasEmotions ? el.emotionsTitle : el.stagesTitle).focus();
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (state.busy) return;
    const text = el.text.value;
    if (!text.trim()) {
      render.error(MSG.empty);
      el.text.focus();
      return;
    }
    const goal = GOALS.includes(el.goal.value) ? el.goal.value : 'sleep';

    resetSession();
    await requestSession({ text, goal });
  }

  /** POST /session and show the answer; a check-in keeps the request in memory for the answer. */
  async function requestSession(body) {
    const generation = state.generation;
    setBusy(true);
    let failed = false;
    try {
      const data = await api.post('/session', body);
      if (generation === state.generation) {
        const safety = data && data.safety && typeof data.safety === 'object' ? data.safety : {};
        state.pending = safety.check_in && safety.check_in.answer === null ? { text: body.text, goal: body.goal } : null;
        showSession(data, body.goal);
        history.refresh();
      }
    } catch (err) {
      failed = true;
      if (generation === state.generation) render.error(err instanceof ApiError ? err.message : MSG.unexpected);
    } finally {
      setBusy(false);
      // Disabling the focused button drops focus to <body>; put it back after an error.
      if (failed && (document.activeElement === document.body || !document.activeElement)) el.start.focus();
    }
  }

  /** The person answered the check-in question: the same text again, with the answer. */
  async function onCheckInAnswer(answer) {
    if (state.busy || !state.pending) return;
    const pending = state.pending;
    el.checkInYes.disabled = true;
    el.checkInNo.disabled = true;
    resetSession();
    await requestSession({ text: pending.text, goal: pending.goal, check_in: answer });
  }

  /** Ctrl+Enter / Cmd+Enter in the textarea sends the form. */
  function onTextKeydown(event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (typeof el.form.requestSubmit === 'function') el.form.requestSubmit(el.start);
      else el.start.click();
    }
  }

  // ---------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------

  function init() {
    el.form.addEventListener('submit', onSubmit);
    el.text.addEventListener('input', updateCount);
    el.text.addEventListener('keydown', onTextKeydown);
    el.play.addEventListener('click', () => player.toggle());
    el.next.addEventListener('click', () => player.next());
    // the stream's own controls move the session too; a stream that fails falls back to track by track
    el.sessionAudio.addEventListener('error', () => {
      if (player.tracks.length && el.sessionAudio.getAttribute('src')) player.toDecks();
    });
    el.sessionAudio.addEventListener('play', () => {
      if (player.mode === 'stream' && player.state !== 'running' && player.tracks.length) {
        player.state = 'running';
        player.startTicking();
        player.updateUi();
      }
    });
    el.sessionAudio.addEventListener('pause', () => {
      if (player.mode === 'stream' && player.state === 'running' && !el.sessionAudio.ended) {
        player.state = 'paused';
        player.stopTicking();
        player.updateUi();
      }
    });
    el.sessionAudio.addEventListener('seeked', () => player.render());
    el.study.addEventListener('submit', onStudySubmit);
    el.checkInYes.addEventListener('click', () => onCheckInAnswer('yes'));
    el.checkInNo.addEventListener('click', () => onCheckInAnswer('no'));
    el.exportData.addEventListener('click', () => history.download());
    el.forgetMe.addEventListener('click', () => history.forget());
    updateCount();
    history.refresh();
    player.updateUi();
  }

  init();
})();
