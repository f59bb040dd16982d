/**
 * The Calendar menu's files: importing a plan (chosen, then confirmed),
 * exporting it, importing a holiday calendar as freezes, exporting iCalendar.
 * The dialogs are opened by the backend; the window never sees a path it did
 * not get back.
 */
import { commands, type PlanFile } from "./bindings";
import { count, describeError } from "./calendar";
import { undoStack } from "./undo.svelte";

/** What the file actions need from the window. */
export interface FilesHost {
  say(notice: string): void;
  fail(message: string): void;
  /** The calendar changed as a whole: reload the views (and open settings). */
  reloaded(): void;
  loadCatalog(): Promise<unknown>;
}

export class Files {
  /** A plan file chosen for import, waiting for the person to confirm. */
  pendingImport = $state<PlanFile | null>(null);
  holidaysOpen = $state(false);

  constructor(private host: FilesHost) {}

  chooseImport = async () => {
    const result = await commands.choosePlanFile();
    if (result.status === "error") this.host.fail(describeError(result.error));
    else if (result.data) this.pendingImport = result.data;
  };

  confirmImport = async () => {
    const result = await commands.importChosenPlan();
    this.pendingImport = null;
    if (result.status === "error") {
      this.host.fail(describeError(result.error));
      return;
    }
    undoStack.clear();
    const s = result.data.summary;
    this.host.say(`Imported ${result.data.path}: ${count(s.releases, "release")}, ${count(s.freezes, "freeze")}, ${count(s.teams, "team")}.`);
    this.host.reloaded();
  };

  exportPlan = async () => {
    const result = await commands.exportPlan();
    if (result.status === "error") this.host.fail(describeError(result.error));
    else if (result.data) {
      const s = result.data.summary;
      this.host.say(`Exported ${count(s.releases, "release")} and ${count(s.freezes, "freeze")} to ${result.data.path}.`);
    }
  };

  openHolidays = async () => {
    if (await this.host.loadCatalog()) this.holidaysOpen = true;
  };

  importHolidays = async (severity: string, environments: string[]) => {
    const result = await commands.importHolidays(severity, environments);
    if (result.status === "error") {
      this.host.fail(describeError(result.error));
      return;
    }
    this.holidaysOpen = false;
    if (!result.data) return;
    const h = result.data;
    this.host.say(
      `Imported ${count(h.created, "holiday")} as freezes${h.updated ? ` (${h.updated} updated)` : ""}; ${count(h.gained_total, "new conflict")}.` +
        (h.skipped.length ? ` Skipped: ${h.skipped.join("; ")}.` : ""),
    );
    this.host.reloaded();
  };

  exportIcs = async () => {
    const result = await commands.exportIcs();
    if (result.status === "error") this.host.fail(describeError(result.error));
    else if (result.data) this.host.say(`Exported the calendar as iCalendar to ${result.data}. Outlook, Google Calendar and Thunderbird can import it.`);
  };
}
