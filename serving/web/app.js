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
  const FADE_MS = 3000;            // length of the cross-fade between stages
  const FADE_STEP_MS = 50;         // volume update interval during a fade
  const TICK_MS = 250;             // how often the stage clock is checked
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
  };

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
    stages: $('stages'),
    stagesTitle: $('stages-title'),
    stageList: $('stage-list'),
    epilogue: $('epilogue'),
    study: $('study'),
    studyTitle: $('study-title'),
    calmerLegend: $('calmer-legend'),
    sendStudy: $('send-study'),
    studyStatus: $('study-status'),
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

  const api = {
    /**
     * POST JSON to a same-origin path. Resolves with the parsed body on 2xx; otherwise
     * rejects with an ApiError carrying `body.error.message` or a friendly fallback.
     */
    async post(path, payload) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      try {
        let response;
        try {
          response = await fetch(path, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
            body: JSON.stringify(payload),
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

  /** The stage's media element (video when the item has one, else audio), or null. */
  function stageMedia(item, position, title) {
    const label = `Music for stage ${position}${title ? `: ${title}` : ''}`;
    const video = sameOriginUrl(item.video_url);
    if (video) {
      return h('video', {
        class: 'stage-video stage-media', controls: true, preload: 'metadata', playsinline: true,
        loop: true, src: video, poster: sameOriginUrl(item.poster_url), 'aria-label': label,
      }, "Your browser can't play this video.");
    }
    const audio = sameOriginUrl(item.audio_url);
    if (audio) {
      return h('audio', {
        class: 'stage-audio stage-media', controls: true, preload: 'metadata', loop: true,
        src: audio, 'aria-label': label,
      }, "Your browser can't play this audio.");
    }
    return null;
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

  /** One stage card. Returns the card and its media element (null without music). */
  function stageCard(stage, position, usedGroupNames) {
    const name = str(stage.name) || `stage-${position}`;
    const title = STAGE_TITLES[name] || name;
    const minutes = typeof stage.minutes === 'number' && stage.minutes > 0 ? stage.minutes : null;
    const item = stage.item && typeof stage.item === 'object' ? stage.item : null;
    const headingId = `stage-${position}-title`;

    const card = h('article', { class: 'stage-card', 'data-stage': name, 'aria-labelledby': headingId });
    card.append(
      h('h3', { id: headingId }, `${position} · ${title} `, h('span', { class: 'stage-name' }, `(${name})`)),
      h('p', { class: 'narrative' }, str(stage.narrative)),
      h('p', { class: 'what' }, h('strong', {}, 'What the music does:'), ' ', str(stage.what)),
      h('p', { class: 'why' }, h('strong', {}, 'Why:'), ' ', str(stage.why)),
    );

    let media = null;
    if (item) {
      const itemTitle = str(item.title);
      card.append(h('p', { class: 'item-meta' },
        'Music: ', h('span', { class: 'item-title' }, itemTitle || 'untitled'),
        minutes ? ' · ' : null, minutes ? h('span', { class: 'item-minutes' }, formatMinutes(minutes)) : null));
      media = stageMedia(item, position, itemTitle);
    }
    if (media) {
      card.append(h('div', { class: 'media-wrap' }, media));
      card.append(h('p', { class: 'media-error', role: 'status' }));
    } else {
      card.append(h('p', { class: 'no-music' }, MSG.noMusic));
    }

    // Radio group names must be unique per stage.
    let groupName = `rating-${name.replace(/[^A-Za-z0-9_-]/g, '') || position}`;
    if (usedGroupNames.has(groupName)) groupName = `${groupName}-${position}`;
    usedGroupNames.add(groupName);
    card.append(ratingBlock(name, groupName));

    // Planned length: the stage's minutes, else one pass of the item, else one minute.
    const durationS = item && typeof item.duration_s === 'number' ? item.duration_s : 0;
    const plannedMs = minutes ? minutes * 60000 : (durationS > 0 ? durationS * 1000 : 60000);
    const startS = item && typeof item.start_s === 'number' && item.start_s > 0 ? item.start_s : 0;

    return { name, title, position, card, media, plannedMs, startS };
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
    tracks: [],          // [{name, title, position, card, media, plannedMs, startS}]
    index: -1,           // the current stage (−1: none)
    state: 'idle',
    elapsedMs: 0,        // time spent in the current stage
    lastTick: 0,
    tickTimer: null,
    fade: null,          // {timer, complete} while a fade runs
    expectPlay: new Set(),   // media we asked to play (their 'play' event is ours, not the person's)
    expectPause: new Set(),  // media we asked to pause
    onFinish: null,

    /** Take over a new session's tracks and listen to their players. */
    load(tracks, onFinish) {
      this.unload();
      this.tracks = tracks;
      this.onFinish = onFinish;
      for (const track of tracks) {
        if (!track.media) continue;
        track.media.addEventListener('play', () => this.onMediaPlay(track.media));
        track.media.addEventListener('pause', () => this.onMediaPause(track.media));
        track.media.addEventListener('error', () => this.onMediaError(track));
      }
      el.player.hidden = false;
      this.announce(this.firstPlayable() === -1 ? MSG.noPlayable : '');
      this.updateUi();
    },

    /** Stop everything and forget the tracks (used before a new session). */
    unload() {
      this.stop();
      this.tracks = [];
      this.onFinish = null;
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

    /** Start from the first stage that has music. */
    start() {
      const first = this.firstPlayable();
      if (first === -1) {
        this.announce(MSG.noPlayable);
        return;
      }
      this.stop();
      this.state = 'running';
      this.enter(first);
      this.seekToStart(this.current());
      this.playMedia(this.current().media);
      this.startTicking();
      this.updateUi();
      this.announceStage();
    },

    /** Pause the session (and its current player). */
    pause() {
      if (this.state !== 'running') return;
      this.state = 'paused';
      this.finishFade();
      const track = this.current();
      if (track) this.pauseMedia(track.media);
      this.updateUi();
      this.announce('Session paused.');
    },

    /** Resume the current stage where it was paused. */
    resume() {
      if (this.state !== 'paused') return;
      this.state = 'running';
      this.lastTick = now();
      const track = this.current();
      if (track) this.playMedia(track.media);
      this.updateUi();
      this.announceStage();
    },

    /** The Next button: cross-fade into the next stage now. */
    next() {
      if (this.state !== 'running' && this.state !== 'paused') return;
      this.state = 'running';
      this.lastTick = now();
      this.advance();
    },

    /** Cross-fade from the current stage into the next one with music, or finish. */
    advance() {
      const from = this.current();
      const to = this.nextPlayable(this.index);
      if (to === -1) {
        this.finish();
        return;
      }
      this.finishFade();
      this.enter(to);
      this.seekToStart(this.current());
      const incoming = this.current().media;
      this.crossfade(from ? from.media : null, incoming);
      this.playMedia(incoming);
      this.updateUi();
      this.announceStage();
    },

    /** After the last stage: fade out, then hand over to the study questions. */
    finish() {
      this.finishFade();
      const last = this.current();
      this.state = 'done';
      this.stopTicking();
      this.index = -1;
      this.elapsedMs = 0;
      if (last) this.crossfade(last.media, null);
      this.updateUi();
      this.announce('The session has finished.');
      if (this.onFinish) this.onFinish();
    },

    /** Hard stop: no fade, every player paused, back to idle. */
    stop() {
      this.stopTicking();
      this.finishFade();
      this.state = 'idle';
      this.index = -1;
      this.elapsedMs = 0;
      for (const track of this.tracks) {
        if (track.media) this.pauseMedia(track.media);
      }
      this.updateUi();
    },

    /** The person pressed play on another stage's player mid-session: follow them there. */
    jumpTo(index) {
      this.finishFade();
      const from = this.current();
      this.enter(index);
      if (from && from.media) this.pauseMedia(from.media);
      this.state = 'running';
      this.lastTick = now();
      this.updateUi();
      this.announceStage();
    },

    // --- events from the media elements -------------------------------------

    onMediaPlay(media) {
      if (this.expectPlay.delete(media)) return;        // we started it
      const i = this.indexOf(media);
      if (i === -1) return;                              // an old session's player
      if (this.state === 'running' || this.state === 'paused') {
        if (i !== this.index) this.jumpTo(i);
        else if (this.state === 'paused') {              // resumed with the player's own button
          this.state = 'running';
          this.lastTick = now();
          this.updateUi();
          this.announceStage();
        }
        return;
      }
      // Outside a session: one player at a time.
      for (const track of this.tracks) {
        if (track.media && track.media !== media && !track.media.paused) this.pauseMedia(track.media);
      }
    },

    onMediaPause(media) {
      if (this.expectPause.delete(media)) return;       // we paused it
      if (this.indexOf(media) === this.index && this.state === 'running') {
        this.state = 'paused';                           // the person paused: pause the session
        this.finishFade();
        this.updateUi();
        this.announce('Session paused.');
      }
    },

    /** A stage whose music fails keeps its time (silence), so the plan's timing holds. */
    onMediaError(track) {
      const line = track.card.querySelector('.media-error');
      if (line) line.textContent = MSG.mediaError;
    },

    // --- media control -------------------------------------------------------

    /** Rewind a stage's media to its item's start (when the session enters the stage). */
    seekToStart(track) {
      try {
        track.media.currentTime = track.startS;
      } catch (_) { /* not seekable yet: it plays from the beginning */ }
    },

    /** Play a media element; only ever called from a user gesture or a session they started. */
    playMedia(media) {
      if (media.paused) this.expectPlay.add(media);
      const promise = media.play();
      if (promise && typeof promise.catch === 'function') {
        promise.catch((err) => this.onPlayRejected(media, err));
      }
    },

    pauseMedia(media) {
      if (!media.paused) {
        this.expectPause.add(media);
        media.pause();
      }
    },

    onPlayRejected(media, err) {
      this.expectPlay.delete(media);
      const name = err && err.name;
      if (name === 'AbortError') return;                 // interrupted by a pause: expected
      if (name === 'NotAllowedError' && this.indexOf(media) === this.index && this.state === 'running') {
        this.state = 'paused';
        this.updateUi();
        this.announce(MSG.blocked);
        return;
      }
      const track = this.tracks[this.indexOf(media)];
      if (track) this.onMediaError(track);
    },

    /** Ramp `out` down and `incoming` up (equal-power curve) over FADE_MS. */
    crossfade(out, incoming) {
      // The outgoing volume (1 unless the person turned it down) is the level to fade between.
      const level = out ? clamp(out.volume, 0, 1) : 1;
      if (incoming) setVolume(incoming, 0);
      const started = now();
      const complete = () => {
        if (out) {
          this.pauseMedia(out);
          setVolume(out, level);                         // ready for a later replay
        }
        if (incoming) setVolume(incoming, level);
      };
      const step = () => {
        const t = clamp((now() - started) / FADE_MS, 0, 1);
        if (out) setVolume(out, level * Math.cos((t * Math.PI) / 2));
        if (incoming) setVolume(incoming, level * Math.sin((t * Math.PI) / 2));
        if (t >= 1) this.finishFade();
      };
      // setInterval (not requestAnimationFrame) so fades still finish in a background tab.
      this.fade = { timer: setInterval(step, FADE_STEP_MS), complete };
      step();
    },

    /** Jump a running fade to its end. */
    finishFade() {
      if (!this.fade) return;
      const { timer, complete } = this.fade;
      this.fade = null;
      clearInterval(timer);
      complete();
    },

    // --- the stage clock ---------------------------------------------------------

    startTicking() {
      this.stopTicking();
      this.lastTick = now();
      this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    },

    stopTicking() {
      if (this.tickTimer !== null) clearInterval(this.tickTimer);
      this.tickTimer = null;
    },

    /** Count time while running; move on when the stage's planned minutes are over. */
    tick() {
      const t = now();
      const dt = t - this.lastTick;
      this.lastTick = t;
      const track = this.current();
      if (this.state !== 'running' || !track) return;
      this.elapsedMs += dt;
      this.renderClock();
      if (this.elapsedMs >= track.plannedMs) this.advance();
    },

    // --- bookkeeping and display -----------------------------------------------------

    current() {
      return this.index >= 0 ? this.tracks[this.index] || null : null;
    },

    indexOf(media) {
      return this.tracks.findIndex((t) => t.media === media);
    },

    firstPlayable() {
      return this.nextPlayable(-1);
    },

    nextPlayable(after) {
      for (let i = after + 1; i < this.tracks.length; i += 1) {
        if (this.tracks[i].media) return i;
      }
      return -1;
    },

    /** Make stage `index` the current one. */
    enter(index) {
      this.index = index;
      this.elapsedMs = 0;
    },

    /** Mark the current card (class `playing`, aria-current="step"). */
    markCards() {
      this.tracks.forEach((track, i) => {
        const isCurrent = i === this.index;
        track.card.classList.toggle('playing', isCurrent);
        if (isCurrent) track.card.setAttribute('aria-current', 'step');
        else track.card.removeAttribute('aria-current');
      });
    },

    renderClock() {
      const track = this.current();
      el.playerClock.textContent = track
        ? `Stage ${track.position} of ${this.tracks.length} · ${formatClock(this.elapsedMs)} / ${formatClock(track.plannedMs)}`
        : '';
    },

    updateUi() {
      el.play.textContent = PLAY_LABELS[this.state];
      el.play.disabled = this.firstPlayable() === -1;
      el.next.disabled = !(this.state === 'running' || this.state === 'paused');
      this.markCards();
      this.renderClock();
    },

    announce(message) {
      el.playerStatus.textContent = message;
    },

    announceStage() {
      const track = this.current();
      if (track) this.announce(`Now playing stage ${track.position} of ${this.tracks.length}: ${track.title}.`);
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
    player.load(render.stages(stages), onSessionFinished);
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
    el.study.addEventListener('submit', onStudySubmit);
    el.checkInYes.addEventListener('click', () => onCheckInAnswer('yes'));
    el.checkInNo.addEventListener('click', () => onCheckInAnswer('no'));
    updateCount();
    player.updateUi();
  }

  init();
})();
