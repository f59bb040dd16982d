/**
 * The settings dialog's state: teams, services, environments and freezes as
 * the backend lists them, which tab is open, and the user's name.
 */
import { commands, type ObjectKind, type Settings } from "./bindings";
import { describeError } from "./calendar";
import type { Tab } from "./SettingsDialog.svelte";

export class SettingsController {
  settings = $state<Settings | null>(null);
  open = $state(false);
  tab = $state<Tab>("freezes");
  userName = $state("");

  constructor(
    private say: (notice: string) => void,
    private fail: (message: string) => void,
  ) {}

  load = async (): Promise<Settings | null> => {
    const result = await commands.settings();
    if (result.status === "error") {
      this.fail(describeError(result.error));
      return null;
    }
    return (this.settings = result.data);
  };

  /** Reloads the lists if the dialog is open (the calendar changed). */
  refresh() {
    if (this.open) void this.load();
  }

  show = async (tab: Tab = this.tab) => {
    this.tab = tab;
    const name = await commands.userName();
    if (name.status === "ok") this.userName = name.data;
    if (await this.load()) this.open = true;
  };

  saveUserName = async (name: string): Promise<string | null> => {
    const result = await commands.setUserName(name);
    if (result.status === "error") return describeError(result.error);
    this.userName = result.data;
    this.say(`Your changes are now recorded as ${result.data}.`);
    return null;
  };

  /** An object's name for messages. */
  nameOf(kind: ObjectKind, id: string): string | undefined {
    const s = this.settings;
    return kind === "freeze"
      ? s?.freezes.find((f) => f.id === id)?.name
      : kind === "team"
        ? s?.teams.find((t) => t.id === id)?.name
        : kind === "environment"
          ? s?.environments.find((e) => e.id === id)?.name
          : id;
  }
}
