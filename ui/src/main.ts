// Shared form styles first: each component's own rules come after and win.
import "./lib/forms.css";
import { mount } from "svelte";
import App from "./App.svelte";
import { commands } from "./lib/bindings";
import { setClock } from "./lib/clock";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

// The app's clock before the first view asks what today is.
setClock(
  await commands.appInfo().then(
    (i) => i.now,
    () => null,
  ),
);

export default mount(App, { target });
