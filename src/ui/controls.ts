/**
 * The training form: algorithms, preset, and one control per config field,
 * built from the config's FIELDS (doc, kind, range) and grouped by the
 * algorithms that read them. Empty fields mean "the default", shown as the
 * placeholder and in a hint. Messages from validation appear next to the field
 * they name. The form only reads and shows; the page decides what happens.
 */
import { ALGOS, PRESETS, type Algo, type Preset } from '../core/config';
import { algorithmInfo } from '../core/algorithms';
import { ALGO_LABELS, FIELD_GROUPS, isSweepable, settingDefault, settingSpec, type DeviceCapacity, type SettingKey, type SettingSpec, type Selection, type Validation } from './studioConfig';
import { element } from './dom';

function rangeText(spec: SettingSpec): string {
  if (spec.kind !== 'number' || !spec.range) return '';
  const { min, max, int, exclusiveMin } = spec.range;
  const kind = int ? 'integer' : 'number';
  if (min !== undefined && max !== undefined) return `${kind} in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
  if (min !== undefined) return `${kind} ${exclusiveMin ? '>' : '≥'} ${min}`;
  return kind;
}

function booleanText(value: boolean): string {
  return value ? 'on' : 'off';
}

/** How a population may sweep a field (the CLI's syntax). */
function sweepText(key: SettingKey): string {
  if (!isSweepable(key)) return '';
  return key === 'seed' ? 'population: a..b or a,b' : 'population: a,b or log:a..b';
}

interface FieldControl {
  key: SettingKey;
  input: HTMLInputElement | HTMLSelectElement;
  hint: HTMLElement;
  error: HTMLElement;
}

export class Controls {
  private readonly algoInputs = new Map<Algo, HTMLInputElement>();
  private readonly algoNotes = new Map<Algo, HTMLElement>();
  private readonly algoError: HTMLElement;
  private readonly preset: HTMLSelectElement;
  private readonly fields: FieldControl[] = [];
  private readonly groups: { fieldset: HTMLFieldSetElement; algos: readonly Algo[] }[] = [];
  private device: DeviceCapacity | null = null;
  /** The folded settings the fields live in, if any. */
  private readonly settings: HTMLDetailsElement | null;

  constructor(
    envRoot: HTMLElement,
    algosRoot: HTMLElement,
    presetRoot: HTMLElement,
    fieldsRoot: HTMLElement,
    onChange: () => void,
  ) {
    envRoot.append(this.fieldControl('env', onChange));
    const notes = element('div', undefined, 'algo-notes');
    for (const algo of ALGOS) {
      const input = element('input');
      input.type = 'checkbox';
      input.name = 'algo';
      input.value = algo;
      input.addEventListener('change', onChange);
      const note = element('small', undefined, 'algo-note');
      note.hidden = true;
      note.dataset.algo = algo;
      const label = element('label', undefined, 'algo');
      label.append(input, ` ${ALGO_LABELS[algo]}`);
      label.title = algorithmInfo(algo).description;
      algosRoot.append(label);
      notes.append(note);
      this.algoInputs.set(algo, input);
      this.algoNotes.set(algo, note);
    }
    this.algoError = element('small', undefined, 'field-error');
    this.algoError.setAttribute('role', 'alert');
    this.algoError.hidden = true;
    notes.append(this.algoError);
    algosRoot.append(notes);

    this.preset = element('select');
    this.preset.id = 'field-preset';
    this.preset.name = 'preset';
    for (const preset of PRESETS) this.preset.append(new Option(preset, preset));
    this.preset.addEventListener('change', () => {
      this.showDefaults();
      onChange();
    });
    const presetLabel = element('label', 'Preset ');
    presetLabel.htmlFor = this.preset.id;
    presetRoot.append(presetLabel, this.preset);

    this.settings = fieldsRoot.closest('details');
    for (const group of FIELD_GROUPS) {
      const fieldset = element('fieldset', undefined, 'field-group');
      fieldset.append(element('legend', group.title));
      for (const key of group.keys) fieldset.append(this.fieldControl(key, onChange));
      fieldsRoot.append(fieldset);
      this.groups.push({ fieldset, algos: group.algos });
    }
    this.showDefaults();
  }

  /** The adapter the defaults and size hints are for (null: none). */
  setDevice(device: DeviceCapacity | null): void {
    this.device = device;
    this.showDefaults();
  }

  get selection(): Selection {
    const values: Selection['values'] = {};
    for (const { key, input } of this.fields) if (input.value.trim() !== '') values[key] = input.value;
    return {
      algos: ALGOS.filter((algo) => this.algoInputs.get(algo)!.checked),
      preset: this.preset.value as Preset,
      values,
    };
  }

  set selection(selection: Selection) {
    for (const [algo, input] of this.algoInputs) input.checked = selection.algos.includes(algo);
    this.preset.value = selection.preset;
    for (const { key, input } of this.fields) {
      const value = selection.values[key] ?? '';
      // A value a select does not offer is kept as its own option, so validation can name it.
      if (input instanceof HTMLSelectElement && value && ![...input.options].some((o) => o.value === value)) input.append(new Option(value, value));
      input.value = value;
    }
    this.showDefaults();
  }

  showErrors(errors: Validation['errors']): void {
    // A refused field inside the folded settings opens them, so its message shows.
    if (this.fields.some(({ key, input }) => errors[key] && input.closest('details')?.open === false)) this.settings?.setAttribute('open', '');
    for (const { key, input, error } of this.fields) {
      const message = errors[key];
      error.textContent = message ?? '';
      error.hidden = !message;
      input.setAttribute('aria-invalid', String(!!message));
      input.closest('.field')!.classList.toggle('invalid', !!message);
    }
    this.algoError.textContent = errors.algo ?? '';
    this.algoError.hidden = !errors.algo;
    const selected = this.selection.algos;
    for (const { fieldset, algos } of this.groups) fieldset.classList.toggle('unused', !algos.some((a) => selected.includes(a)));
  }

  /** A note beside an algorithm (e.g. why it could not start); null clears it. */
  setAlgoNote(algo: Algo, message: string | null): void {
    const note = this.algoNotes.get(algo)!;
    note.textContent = message ? `${ALGO_LABELS[algo]}: ${message}` : '';
    note.hidden = !message;
  }

  /** Fields cannot change while a run exists. */
  setLocked(locked: boolean): void {
    for (const input of this.algoInputs.values()) input.disabled = locked;
    this.preset.disabled = locked;
    for (const { input } of this.fields) input.disabled = locked;
  }

  private fieldControl(key: SettingKey, onChange: () => void): HTMLElement {
    const spec = settingSpec(key);
    const id = `field-${spec.flag}`;
    let input: HTMLInputElement | HTMLSelectElement;
    if (spec.kind === 'number' || spec.kind === 'list') {
      input = element('input');
      input.type = 'text';
      if (spec.kind === 'number') input.inputMode = spec.range?.int ? 'numeric' : 'decimal';
      input.spellcheck = false;
    } else {
      input = element('select');
      input.append(new Option('default', ''));
      const values = spec.kind === 'boolean' ? ['true', 'false'] : spec.values!;
      for (const value of values) input.append(new Option(spec.kind === 'boolean' ? booleanText(value === 'true') : value, value));
    }
    input.id = id;
    input.name = spec.flag;
    input.addEventListener('input', onChange);
    const label = element('label');
    label.htmlFor = id;
    label.textContent = spec.doc;
    const hint = element('small', undefined, 'hint');
    hint.id = `${id}-hint`;
    const error = element('small', undefined, 'field-error');
    error.id = `${id}-error`;
    error.setAttribute('role', 'alert');
    error.hidden = true;
    input.setAttribute('aria-describedby', `${hint.id} ${error.id}`);
    const field = element('div', undefined, 'field');
    field.dataset.field = spec.flag;
    field.append(label, input, hint, error);
    this.fields.push({ key, input, hint, error });
    return field;
  }

  /** Placeholders and hints show the preset's defaults on this device. */
  private showDefaults(): void {
    for (const { key, input, hint } of this.fields) {
      const spec = settingSpec(key);
      const value = settingDefault(key, this.preset.value as Preset, this.device);
      const shown = typeof value === 'boolean' ? booleanText(value) : String(value);
      if (input instanceof HTMLInputElement) input.placeholder = shown;
      else input.options[0].text = `default (${shown})`;
      hint.replaceChildren(element('code', `--${spec.flag}`), ` · ${[`default ${shown}`, rangeText(spec), sweepText(key)].filter(Boolean).join(' · ')}`);
    }
  }
}
